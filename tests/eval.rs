//! Offline evaluation and training: metrics on hand-computed cases, the split, leakage,
//! reproducible training and an exported model that scores like the trainer's.

mod common;

use homerank::dataset::{Catalog, Dataset, Interaction, Session};
use homerank::eval::metrics::{bootstrap_mean, hit_at, ndcg_at, order_by, rank_of, reciprocal_rank, skip_at_3};
use homerank::eval::{build_cases, case_features, CaseConfig, ItemEmbeddings, ItemKnn, Prepared, ServerModel, Split};
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
fn the_split_is_by_time_and_nothing_leaks_from_test() {
    let mut data = toy_dataset(50);
    // Shuffle storage order: the split must follow time, not position.
    data.sessions.reverse();
    let split = Split::default_for(&data);
    assert_eq!((split.train.len(), split.valid.len(), split.test.len()), (40, 5, 5));
    let last_train = split.train.iter().map(|&s| data.sessions[s].start_ms()).fold(f64::MIN, f64::max);
    let first_test = split.test.iter().map(|&s| data.sessions[s].start_ms()).fold(f64::MAX, f64::min);
    assert!(last_train < first_test);

    // Embeddings, the server and item-kNN see only training sessions: changing a test session's
    // items changes none of them.
    let build = |d: &Dataset| {
        let e = ItemEmbeddings::build(d, &split.train, 32);
        let server = ServerModel::fit(d, &split.train, &e);
        let knn = ItemKnn::fit(d, &split.train);
        let scores = server.scores(Some("u1"), &e);
        (e.values, server.counts, scores, knn.similarity(0, 1))
    };
    let before = build(&data);
    let mut changed = data.clone();
    for &s in &split.test {
        for e in &mut changed.sessions[s].events {
            e.item = 11;
        }
    }
    assert_eq!(build(&changed), before);
}

#[test]
fn cases_are_server_windows_around_the_target() {
    let data = toy_dataset(30);
    let split = Split::default_for(&data);
    let emb = ItemEmbeddings::build(&data, &split.train, 32);
    let server = ServerModel::fit(&data, &split.train, &emb);
    let config = CaseConfig { n_cands: Some(8), ..Default::default() };
    let cases = build_cases(&data, &split.test, &server, &emb, &config);
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
        let scores = server.scores(session.user.as_deref(), &emb);
        let ranked: Vec<usize> = (0..8).filter(|k| !c.skipped.contains(k)).collect();
        assert!(ranked.windows(2).all(|w| scores[c.candidates[w[0]] as usize] >= scores[c.candidates[w[1]] as usize]));
        for &k in &c.skipped {
            assert!(session.events.iter().any(|e| e.item == c.candidates[k] && e.action == Action::Skip));
        }
        let f = case_features(c, &data, &emb);
        assert_eq!((f.n_events(), f.n_cands()), (t, 8));
        assert_eq!(f.server_score[0], 1.0);
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
    let cases = prepared.cases(&prepared.split.test, &CaseConfig { n_cands: Some(8), ..Default::default() });
    let feats: Vec<_> = cases.iter().map(|c| case_features(c, &prepared.dataset, &prepared.embeddings)).collect();
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
