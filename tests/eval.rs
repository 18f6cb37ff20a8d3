//! Offline evaluation and training: metrics on hand-computed cases, the split, leakage,
//! reproducible training and an exported model that scores like the trainer's.

mod common;

use homerank::dataset::{Catalog, Dataset, Interaction, Session};
use homerank::eval::metrics::{bootstrap_mean, hit_at, ndcg_at, order_by, rank_of, reciprocal_rank, skip_at_3};
use homerank::eval::{
    build_cases, CandidateList, CaseConfig, EmbeddingKind, History, ItemEmbeddings, Part, Prepared, Split,
};
use homerank::model::{HrsModel, ModelFile, Precision, Weight};
use homerank::train::{export, train, TrainConfig};
use homerank::{Action, ItemType};

#[test]
fn metrics_match_hand_computed_values() {
    // Relevant item at rank 0, 1, 3 (0-based) and outside the top 10.
    assert_eq!(ndcg_at(0, 10), 1.0);
    assert!((ndcg_at(1, 10) - 1.0 / 3f64.log2()).abs() < 1e-12);
    assert!((ndcg_at(3, 10) - 1.0 / 5f64.log2()).abs() < 1e-12);
    assert!((ndcg_at(9, 10) - 1.0 / 11f64.log2()).abs() < 1e-12);
    assert_eq!(ndcg_at(10, 10), 0.0);
    assert_eq!(reciprocal_rank(0), 1.0);
    assert_eq!(reciprocal_rank(3), 0.25);
    assert_eq!((hit_at(9, 10), hit_at(10, 10)), (1.0, 0.0));
    // skip@3: two of the top three were skipped.
    assert_eq!(skip_at_3(&[4, 2, 7, 1], &[7, 4, 9]), Some(2.0 / 3.0));
    assert_eq!(skip_at_3(&[4, 2, 7], &[]), None);
    assert_eq!(order_by(&[0.1, 0.9, 0.1, 0.5]), vec![1, 3, 0, 2]);
    assert_eq!(rank_of(&[1, 3, 0, 2], 0), 2);
}

#[test]
fn bootstrap_interval_covers_the_mean_and_shrinks_with_n() {
    let constant = bootstrap_mean(&[0.5; 40], 500, 0.95, 1);
    assert_eq!((constant.mean, constant.lo, constant.hi), (0.5, 0.5, 0.5));
    let coin: Vec<f64> = (0..100).map(|i| (i % 2) as f64).collect();
    let e = bootstrap_mean(&coin, 2000, 0.95, 3);
    assert_eq!(e.mean, 0.5);
    // Normal approximation: ±1.96·0.5/√100 ≈ ±0.098.
    assert!((e.lo - 0.402).abs() < 0.03 && (e.hi - 0.598).abs() < 0.03, "{e:?}");
    let big: Vec<f64> = (0..10_000).map(|i| (i % 2) as f64).collect();
    let b = bootstrap_mean(&big, 500, 0.95, 3);
    assert!(b.hi - b.lo < (e.hi - e.lo) / 5.0);
}

/// A toy log: 12 items in two taste groups; each session stays in one group; users alternate.
fn toy_dataset(n_sessions: usize) -> Dataset {
    let mut catalog = Catalog::new(2);
    for i in 0..12 {
        let id = catalog.intern(&format!("track:{i}"));
        catalog.types[id as usize] = ItemType::Track;
        catalog.content_mut(id).copy_from_slice(if i < 6 { &[1.0, 0.0] } else { &[0.0, 1.0] });
    }
    let mut rng = homerank::rng::Rng::new(5);
    let sessions = (0..n_sessions)
        .map(|s| {
            let group = (s % 2) * 6;
            let events = (0..8)
                .map(|k| {
                    let item = (group + rng.below(6)) as u32;
                    let action = if rng.chance(0.25) { Action::Skip } else { Action::Complete };
                    Interaction {
                        item,
                        action,
                        ms_played: Some(30_000.0),
                        time_ms: (s * 1_000_000 + k * 60_000) as f64,
                    }
                })
                .collect();
            Session { id: format!("s{s}"), user: Some(format!("u{}", s % 7)), events }
        })
        .collect();
    Dataset { name: "toy".into(), catalog, sessions, content_only: false }
}

#[test]
fn the_windows_follow_time() {
    let mut data = toy_dataset(50);
    // Shuffle storage order: the windows must follow time, not position.
    data.sessions.reverse();
    let split = Split::default_for(&data);
    let lens = [split.history_train.len(), split.train.len(), split.valid.len(), split.test.len()];
    assert_eq!(lens, [30, 10, 5, 5]);
    let start = |s: &usize| data.sessions[*s].start_ms();
    let windows = [&split.history_train, &split.train, &split.valid, &split.test];
    for w in windows.windows(2) {
        let last = w[0].iter().map(start).fold(f64::MIN, f64::max);
        let first = w[1].iter().map(start).fold(f64::MAX, f64::min);
        assert!(last < first, "windows in time order");
    }
    let mut b = split.history_train.clone();
    b.extend(&split.train);
    assert_eq!(split.history_eval, b, "history B is history A then the training cases' window");
}

/// The no-leakage properties: no case's session is in the history its statistics come from, and
/// changing every session a history must not see changes nothing it fitted.
#[test]
fn no_case_is_scored_with_statistics_of_its_own_session() {
    let data = toy_dataset(60);
    let prepared = Prepared::new(data.clone(), 16);
    let config = CaseConfig { n_cands: Some(8), ..Default::default() };
    let split = &prepared.split;
    for part in [Part::Train, Part::Valid, Part::Test] {
        let history = if part == Part::Train { &split.history_train } else { &split.history_eval };
        let cases = prepared.cases(part, &config);
        assert!(!cases.is_empty(), "{part:?}");
        for c in &cases {
            assert!(prepared.sessions(part).contains(&c.session));
            assert!(!history.contains(&c.session), "{part:?}: case session {} is in its history", c.session);
        }
    }
    let fitted = |d: &Dataset, sessions: &[usize], kind| {
        let h = History::fit(d, sessions, 16, kind, None);
        let knn: Vec<f64> =
            (0..12).flat_map(|a| (0..12).map(move |b| (a, b))).map(|(a, b)| h.knn.similarity(a, b)).collect();
        let server = h.server.scores(Some("u1"), &h.embeddings);
        (h.embeddings.values, h.server.counts, server, knn, h.neighbors)
    };
    for kind in [EmbeddingKind::Learned, EmbeddingKind::Codes] {
        for (history, unseen) in [
            (&split.history_train, vec![&split.train, &split.valid, &split.test]),
            (&split.history_eval, vec![&split.valid, &split.test]),
        ] {
            let before = fitted(&data, history, kind);
            let mut changed = data.clone();
            for &s in unseen.into_iter().flatten() {
                for e in &mut changed.sessions[s].events {
                    e.item = 11;
                    e.action = Action::Skip;
                }
            }
            assert_eq!(fitted(&changed, history, kind), before, "{kind:?}");
        }
    }
}

#[test]
fn learned_embeddings_are_deterministic_and_aligned_refits_keep_the_basis() {
    let data = toy_dataset(60);
    let split = Split::default_for(&data);
    let a = ItemEmbeddings::build(&data, &split.history_train, 8, EmbeddingKind::Learned);
    assert_eq!(a, ItemEmbeddings::build(&data, &split.history_train, 8, EmbeddingKind::Learned));
    let b = ItemEmbeddings::build(&data, &split.history_eval, 8, EmbeddingKind::Learned);
    let aligned = b.aligned_to(&a);
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    // A rotation: cosines between items are unchanged ...
    for (i, j) in [(0, 1), (2, 5), (3, 11)] {
        assert!((dot(b.of(i), b.of(j)) - dot(aligned.of(i), aligned.of(j))).abs() < 1e-4);
    }
    // ... and the refit lands closer to the first fit than before alignment.
    let gap = |x: &ItemEmbeddings| (0..12).map(|i| 1.0 - dot(x.of(i), a.of(i))).sum::<f32>();
    assert!(gap(&aligned) < gap(&b), "{} vs {}", gap(&aligned), gap(&b));
    assert!(gap(&aligned) < 1.0, "{}", gap(&aligned));
}

#[test]
fn cases_are_server_windows_around_the_target() {
    let data = toy_dataset(30);
    let prepared = Prepared::new(data.clone(), 16);
    let history = prepared.history(Part::Test);
    let config = CaseConfig { n_cands: Some(8), ..Default::default() };
    let cases = build_cases(&data, prepared.sessions(Part::Test), history, &config);
    assert!(!cases.is_empty());
    for c in &cases {
        assert_eq!(c.candidates.len(), 8);
        let session = &data.sessions[c.session];
        let t = c.prefix.len();
        assert_eq!(session.events[t].item, c.candidates[c.target]);
        assert!(homerank::eval::is_target(session.events[t].action));
        assert_eq!(&session.events[..t], c.prefix.as_slice());
        let mut dedup = c.candidates.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 8, "no duplicate candidates");
        // Apart from skipped items placed in free slots, the list is a window of the server's
        // ranking in server order, and the target sits at its own rank inside it.
        let scores = history.server.scores(session.user.as_deref(), &history.embeddings);
        let ranked: Vec<usize> = (0..8).filter(|k| !c.skipped.contains(k)).collect();
        assert!(ranked.windows(2).all(|w| scores[c.candidates[w[0]] as usize] >= scores[c.candidates[w[1]] as usize]));
        for &k in &c.skipped {
            assert!(session.events.iter().any(|e| e.item == c.candidates[k] && e.action == Action::Skip));
        }
        let f = prepared.features(Part::Test, c);
        assert_eq!((f.n_events(), f.n_cands()), (t, 8));
        assert_eq!(f.server_score[0], 1.0);
        assert_eq!(f.cand_sim.len(), 8 * homerank::testing::SIM_FEATURES);
    }
    // The server's own top list: the first 8 of its ranking, only where it holds the target.
    let top = build_cases(
        &data,
        prepared.sessions(Part::Test),
        history,
        &CaseConfig { list: CandidateList::ServerTop, ..config },
    );
    for c in &top {
        let session = &data.sessions[c.session];
        let scores = history.server.scores(session.user.as_deref(), &history.embeddings);
        let mut ranked: Vec<u32> = (0..scores.len() as u32).collect();
        ranked.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        let unskipped: Vec<u32> = (0..8).filter(|k| !c.skipped.contains(k)).map(|k| c.candidates[k]).collect();
        assert!(unskipped.iter().all(|i| ranked[..8].contains(i)));
        assert!(ranked[..8].contains(&c.candidates[c.target]));
    }
}

fn tiny_config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 16,
        max_train_cases: 64,
        max_valid_cases: 32,
        n_cands: 8,
        seed,
        progress: false,
        ..Default::default()
    }
}

#[test]
fn training_is_reproducible_and_the_export_scores_like_the_trainer() {
    let prepared = Prepared::new(toy_dataset(60), 32);
    let a = train(std::slice::from_ref(&prepared), &tiny_config(3)).unwrap();
    let b = train(std::slice::from_ref(&prepared), &tiny_config(3)).unwrap();
    println!("loss curve: {:?}", a.log);
    assert_eq!(a.log, b.log, "same seed, same loss curve");
    assert_eq!(a.log.len(), 2);
    let c = train(std::slice::from_ref(&prepared), &tiny_config(4)).unwrap();
    assert_ne!(a.log, c.log);

    // Export, load with the core ranker's loader, and compare with the trainer's weights.
    let dir = std::env::temp_dir().join(format!("homerank-export-{}", std::process::id()));
    let out = dir.join("tiny.gguf");
    let exported = export(&a.weights, &tiny_config(3).model, &out, "tiny", &[("purpose", "test")]).unwrap();
    let manifest = homerank::Manifest::from_json(&std::fs::read_to_string(&exported.manifest).unwrap()).unwrap();
    assert_eq!(manifest.default, "tiny");
    assert_eq!(manifest.models.len(), 2);
    let f32_file = ModelFile::from_bytes(&std::fs::read(&exported.f32).unwrap()).unwrap();
    let loaded = HrsModel::from_file_tensors(f32_file.config.clone(), &f32_file.tensors, Precision::F32).unwrap();
    let weights = a.weights.iter().map(|(k, t)| (k.clone(), Weight::Dense(t.clone()))).collect();
    let trainer_model = HrsModel::from_weights(f32_file.config.clone(), &weights, Precision::F32).unwrap();
    let cases = prepared.cases(Part::Test, &CaseConfig { n_cands: Some(8), ..Default::default() });
    let feats: Vec<_> = cases.iter().map(|c| prepared.features(Part::Test, c)).collect();
    let x = loaded.score_many(&feats, 16).unwrap();
    let y = trainer_model.score_many(&feats, 16).unwrap();
    assert_eq!(x, y, "the f32 file holds exactly the trained weights");
    // The shipped Q8_0 file loads in the ranker and stays close.
    homerank::HomeRanker::from_path(&out).unwrap();
    let q8_file = ModelFile::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let engine = homerank::model::cpu::CpuModel::new(&q8_file.config, &q8_file.tensors).unwrap();
    let mut scratch = homerank::model::cpu::Scratch::default();
    let z: Vec<Vec<f32>> = feats.iter().map(|f| engine.score(f, &mut scratch).unwrap()).collect();
    let diff = x.iter().flatten().zip(z.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("Q8_0 vs f32 export: max abs diff {diff}");
    assert!(diff < 0.1);
}

/// A run stopped after an epoch and resumed from its checkpoint ends exactly where the run
/// that never stopped ends; a checkpoint of another run is refused.
#[test]
fn an_interrupted_run_resumes_from_its_checkpoint_exactly() {
    let prepared = Prepared::new(toy_dataset(60), 32);
    let sources = std::slice::from_ref(&prepared);
    let config = TrainConfig { epochs: 3, patience: 10, ..tiny_config(3) };
    let straight = train(sources, &config).unwrap();
    assert_eq!(straight.epochs_run, 3);

    let dir = std::env::temp_dir().join(format!("homerank-checkpoint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let with_checkpoint = TrainConfig { checkpoint: Some(dir.clone()), resume: true, ..config.clone() };
    let first = train(sources, &TrainConfig { epochs: 1, ..with_checkpoint.clone() }).unwrap();
    assert_eq!((first.epochs_run, first.log.len()), (1, 1));
    let resumed = train(sources, &with_checkpoint).unwrap();
    assert_eq!(resumed.epochs_run, 2, "epochs 2 and 3 only");
    assert_eq!(resumed.log, straight.log);
    assert_eq!(resumed.best_epoch, straight.best_epoch);
    assert_eq!(common::weights_as_vecs(&resumed.weights), common::weights_as_vecs(&straight.weights));
    // Only the last epoch's tensors stay on disk.
    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(files.contains(&"epoch-3.safetensors".to_owned()) && files.len() == 2, "{files:?}");

    // Resuming a finished run runs nothing and returns its result.
    let again = train(sources, &with_checkpoint).unwrap();
    assert_eq!((again.epochs_run, again.log.clone()), (0, straight.log.clone()));
    // Another seed draws other cases and other weights: not this checkpoint's run.
    let err = train(sources, &TrainConfig { seed: 4, ..with_checkpoint.clone() }).unwrap_err();
    assert!(matches!(err, homerank::Error::InvalidOptions(_)) && err.to_string().contains("another run"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A batch computed in parts on threads (`batch_parts`) trains what the whole batch trains, up to
/// rounding, and reproducibly.
#[test]
fn a_batch_in_parts_trains_as_the_whole_batch() {
    let prepared = Prepared::new(toy_dataset(60), 32);
    let sources = std::slice::from_ref(&prepared);
    let whole = train(sources, &tiny_config(3)).unwrap();
    let halves = train(sources, &TrainConfig { batch_parts: 2, ..tiny_config(3) }).unwrap();
    let again = train(sources, &TrainConfig { batch_parts: 2, ..tiny_config(3) }).unwrap();
    assert_eq!(common::weights_as_vecs(&halves.weights), common::weights_as_vecs(&again.weights));
    let thirds = train(sources, &TrainConfig { batch_parts: 3, ..tiny_config(3) }).unwrap();
    for other in [&halves, &thirds] {
        for (a, b) in whole.log.iter().zip(&other.log) {
            assert!((a.train_loss - b.train_loss).abs() < 1e-4, "{:?} vs {:?}", whole.log, other.log);
            assert!((a.valid_ndcg - b.valid_ndcg).abs() < 1e-3, "{:?} vs {:?}", whole.log, other.log);
        }
        let diff = common::weights_as_vecs(&whole.weights)
            .iter()
            .zip(common::weights_as_vecs(&other.weights))
            .flat_map(|((_, a), (_, b))| a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect::<Vec<_>>())
            .fold(0f32, f32::max);
        // Adam turns rounding-sized gradient differences of near-zero gradients into steps of up
        // to lr (1e-3) each; the gradients themselves agree to rounding (the unit test in
        // src/train/trainer.rs).
        println!("batch in parts vs whole: max weight difference {diff}");
        assert!(diff < 1e-2, "{diff}");
    }
}

/// A dataset holding the events of the sessions `sessions_read` names, and no others, gives
/// `build_cases` exactly the cases of the whole dataset, for both lists (with the server's top N,
/// a session counts the picks whose target its listener's ranking puts in the top N).
#[test]
fn the_sessions_read_are_all_the_cases_need() {
    use homerank::eval::{picks, sessions_read, ServerRanking};
    let data = toy_dataset(80);
    let prepared = Prepared::new(data.clone(), 32);
    let history = prepared.history(Part::Train);
    let cases_of = |s: usize, config: &CaseConfig| {
        let session = &data.sessions[s];
        let targets: Vec<u32> =
            picks(&session.events, config.per_session).iter().map(|&t| session.events[t].item).collect();
        match config.list {
            CandidateList::Window => targets.len(),
            CandidateList::ServerTop => {
                let scores = history.server.scores(session.user.as_deref(), &history.embeddings);
                ServerRanking::new(&scores).in_top(&targets, config.n_cands)
            }
        }
    };
    let lists = [CandidateList::Window, CandidateList::ServerTop];
    for (max_cases, per_session, seed, list) in
        lists.iter().flat_map(|&l| [(8, 2, 1, l), (5, 8, 2, l), (10_000, 3, 3, l)])
    {
        let config = CaseConfig { n_cands: Some(8), max_cases, per_session, seed, list, ..Default::default() };
        let sessions = prepared.sessions(Part::Train);
        let read = sessions_read(sessions, |s| cases_of(s, &config), &config);
        let mut thin = data.clone();
        for (s, session) in thin.sessions.iter_mut().enumerate() {
            if !read.contains(&s) {
                session.events.clear();
            }
        }
        let full = prepared.cases(Part::Train, &config);
        let from_thin = build_cases(&thin, sessions, history, &config);
        assert!(!full.is_empty() && full.len() <= max_cases, "{list:?}: {} cases", full.len());
        let key = |c: &homerank::eval::RankingCase| {
            (c.session, c.candidates.clone(), c.target, c.skipped.clone(), c.prefix.len())
        };
        assert_eq!(full.iter().map(key).collect::<Vec<_>>(), from_thin.iter().map(key).collect::<Vec<_>>());
        if max_cases < 100 {
            assert!(read.len() < sessions.len(), "a cap reads fewer sessions ({} of {})", read.len(), sessions.len());
        }
        // Every session read gives a case: none is read for nothing.
        let from: std::collections::BTreeSet<usize> = full.iter().map(|c| c.session).collect();
        assert_eq!(from, read.iter().copied().collect(), "{list:?}");
    }
}

/// The kept rankings are each listener's own, whether kept, evicted and recomputed, or new
/// (anonymous sessions share one).
#[test]
fn recent_rankings_give_each_listener_its_own_ranking() {
    use homerank::eval::{RecentRankings, ServerRanking};
    let prepared = Prepared::new(toy_dataset(80), 32);
    let history = prepared.history(Part::Train);
    let scorer = history.server.scorer(&history.embeddings);
    let users = ["u1", "u2", "u1", "u3", "u2", "u2", "u4", "u1", "u9", "u3"].map(Some);
    let visits = users.iter().copied().chain([None, Some("u1"), None]);
    for capacity in [1, 2, 3, 100] {
        let mut rankings = RecentRankings::with_capacity(&scorer, capacity);
        for user in visits.clone() {
            let fresh = ServerRanking::new(&scorer.scores(user));
            let kept = rankings.of(user);
            assert_eq!((&kept.ranked, &kept.position_of), (&fresh.ranked, &fresh.position_of), "{user:?}");
        }
    }
    let distinct: Vec<_> = (1..5).map(|u| ServerRanking::new(&scorer.scores(Some(&format!("u{u}")))).ranked).collect();
    assert!(distinct.windows(2).any(|w| w[0] != w[1]), "the toy listeners' rankings differ");
}

/// Training and serving share one featurization: a case turned into a page and events
/// (`case_page`) scores in `HomeRanker` exactly as its offline features do in the same engine.
#[test]
fn a_case_as_a_page_scores_on_the_device_as_offline() {
    let prepared = Prepared::new(toy_dataset(60), 32);
    let bytes = common::fixture_model_bytes(9, Precision::Q8_0);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let engine = homerank::model::cpu::CpuModel::new(&file.config, &file.tensors).unwrap();
    let mut scratch = homerank::model::cpu::Scratch::default();
    let options =
        homerank::RerankOptions { dedup: false, reorder_shelves: false, negative_feedback: 0.0, ..Default::default() };
    let cases = prepared.cases(Part::Test, &CaseConfig { n_cands: Some(10), ..Default::default() });
    assert!(cases.len() > 5);
    for case in &cases {
        let offline = engine.score(&prepared.features(Part::Test, case), &mut scratch).unwrap();
        let (page, events) = homerank::eval::case_page(case, &prepared.dataset, prepared.history(Part::Test), true);
        let mut ranker = homerank::HomeRanker::from_bytes(&bytes).unwrap();
        ranker.observe_all(&events).unwrap();
        let result = ranker.rerank(&page, &options).unwrap();
        assert!(result.fallback.is_none(), "{:?}", result.fallback);
        let device_features = homerank::testing::Features::from_page(&page, ranker.session(), 64);
        assert_eq!(device_features, prepared.features(Part::Test, case));
        for (item, want) in page.shelves[0].items.iter().zip(&offline) {
            let got = result.shelves[0].items.iter().find(|i| i.id == item.id).unwrap().score.unwrap();
            assert_eq!(got, *want, "{}", item.id);
        }
    }
}

/// Earlier-session context (`prior_events`) comes only from the same listener's sessions that
/// ended before the case's session began, and leaves the cases themselves unchanged.
#[test]
fn earlier_events_are_the_same_listeners_and_strictly_earlier() {
    let data = toy_dataset(60);
    let prepared = Prepared::new(data.clone(), 16);
    let base = CaseConfig { n_cands: Some(8), max_events: 12, ..Default::default() };
    let alone = prepared.cases(Part::Test, &base);
    let with = prepared.cases(Part::Test, &CaseConfig { prior_events: 5, ..base.clone() });
    assert_eq!(alone.len(), with.len());
    let mut extended = 0;
    for (a, w) in alone.iter().zip(&with) {
        assert_eq!((a.session, &a.candidates, a.target), (w.session, &w.candidates, w.target));
        let session = &data.sessions[a.session];
        let start = session.events[0].time_ms;
        assert!(w.prefix.len() <= 12 && w.prefix.len() >= a.prefix.len());
        assert_eq!(&w.prefix[w.prefix.len() - a.prefix.len()..], &a.prefix[..], "the session's own events come last");
        let earlier = &w.prefix[..w.prefix.len() - a.prefix.len()];
        extended += usize::from(!earlier.is_empty());
        assert!(earlier.len() <= 5);
        for e in earlier {
            assert!(e.time_ms < start, "an earlier event at {} is not before the session's start {start}", e.time_ms);
            let from = data.sessions.iter().find(|o| o.events.iter().any(|x| x == e)).unwrap();
            assert_eq!(from.user, session.user, "earlier events are the listener's own");
        }
    }
    assert!(extended > 0, "some test cases have earlier sessions");
}

/// The mid-term context on the device is the offline `prior_events`: a ranker that saw the
/// listener's earlier session and ended it builds exactly the offline features of a case whose
/// prefix starts with that session's events.
#[test]
fn the_devices_mid_term_context_is_the_offline_prior_events() {
    let prepared = Prepared::new(toy_dataset(60), 32);
    let bytes = common::fixture_model_bytes(9, Precision::Q8_0);
    let config = CaseConfig { n_cands: Some(10), prior_events: 6, ..Default::default() };
    let alone = prepared.cases(Part::Test, &CaseConfig { prior_events: 0, ..config.clone() });
    let with = prepared.cases(Part::Test, &config);
    let history = prepared.history(Part::Test);
    let mut checked = 0;
    for (a, w) in alone.iter().zip(&with).filter(|(a, w)| w.prefix.len() > a.prefix.len()) {
        let (page, events) = homerank::eval::case_page(w, &prepared.dataset, history, true);
        let n_earlier = w.prefix.len() - a.prefix.len();
        let mut ranker = homerank::HomeRanker::from_bytes(&bytes).unwrap();
        ranker.set_mid_term(6, 1e15);
        for (mut e, p) in events.into_iter().zip(&w.prefix).take(n_earlier) {
            e.timestamp_ms = Some(p.time_ms);
            ranker.observe(&e).unwrap();
        }
        let start = prepared.dataset.sessions[w.session].events[0].time_ms;
        ranker.end_session(start);
        let (_, own) = homerank::eval::case_page(a, &prepared.dataset, history, true);
        ranker.observe_all(&own).unwrap();
        let device = homerank::testing::Features::from_page(&page, ranker.session(), 64);
        assert_eq!(device, prepared.features(Part::Test, w));
        checked += 1;
    }
    assert!(checked > 3, "{checked} cases with earlier sessions");
}
