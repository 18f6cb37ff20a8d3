//! Offline statistics of the evaluation protocol: co-occurrence counts and item-kNN similarity,
//! neighbour lists, the randomized truncated SVD, PPMI embeddings, V-SKNN, and item-kNN scoring
//! exactly as before it moved onto `CoOccurrence`.

use std::collections::HashMap;

use homerank::dataset::{Catalog, Dataset, Interaction, Session};
use homerank::eval::{
    embedding_knn_scores, neighbor_knn_scores, ppmi_embeddings, truncated_svd, CoOccurrence, IndexedSession, ItemKnn,
    RankingCase, Sknn, SknnConfig, SknnIndexer, SparseRows,
};
use homerank::rng::Rng;
use homerank::Action;

/// A dataset over items named by the letters of `ids`; each session is a string of item letters
/// (all `complete`), its events one minute apart from `start_ms`.
fn letters(ids: &str, sessions: &[(&str, f64)]) -> Dataset {
    let mut catalog = Catalog::new(0);
    for c in ids.chars() {
        catalog.intern(&c.to_string());
    }
    let sessions = sessions
        .iter()
        .enumerate()
        .map(|(k, &(items, start_ms))| Session {
            id: format!("s{k}"),
            user: None,
            events: items
                .chars()
                .enumerate()
                .map(|(p, c)| Interaction {
                    item: catalog.get(&c.to_string()).unwrap(),
                    action: Action::Complete,
                    ms_played: None,
                    time_ms: start_ms + p as f64 * 60_000.0,
                })
                .collect(),
        })
        .collect();
    Dataset { name: "letters".into(), catalog, sessions, content_only: false }
}

const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const D: u32 = 3;
const E: u32 = 4;
const F: u32 = 5;

/// History: s0, s1, s2, s4; s3 is held out (its a–d pairs must count nowhere).
fn tiny() -> (Dataset, Vec<usize>) {
    let d = letters("abcdef", &[("abac", 0.0), ("bcc", 1e7), ("deeeeef", 2e7), ("adad", 3e7), ("ce", 4e7)]);
    (d, vec![0, 1, 2, 4])
}

#[test]
fn cooccurrence_counts_and_similarity_match_hand_computed_values() {
    let (d, history) = tiny();
    let co = CoOccurrence::fit(&d, &history);
    assert_eq!(co.n_items(), 6);
    // Item counts: a 2 (s0), b 1+1, c 1+2+1, d 1, e 5+1, f 1; s3 (a d a d) not counted.
    let counts: Vec<f32> = (0..6).map(|i| co.count(i)).collect();
    assert_eq!(counts, vec![2.0, 2.0, 4.0, 1.0, 6.0, 1.0]);
    // Pairs within 5 positions, i != j, each meeting counted:
    //   s0 a b a c: (a,b) from p0 and p1 → 2; (a,c) from p0 and p2 → 2; (b,c) from p1 → 1.
    //   s1 b c c: (b,c) +2 → 3.   s4 c e: (c,e) 1.
    //   s2 d e e e e e f: d meets the five e's (positions 1–5) → 5, but not f (6 positions
    //   later); each of the five e's meets f → (e,f) 5; e next to e counts nothing.
    let pair = |a, b| co.pair_count(a, b);
    assert_eq!(
        [pair(A, B), pair(A, C), pair(B, C), pair(C, E), pair(D, E), pair(E, F)],
        [2.0, 2.0, 3.0, 1.0, 5.0, 5.0]
    );
    assert_eq!(pair(B, A), 2.0, "symmetric");
    assert_eq!([pair(D, F), pair(A, D), pair(A, E), pair(A, A)], [0.0; 4]);
    assert_eq!(co.nnz(), 12, "six pairs, both rows");
    // Cosine c/√(n_a n_b), in f32 as item-kNN always computed it.
    let f = |c: f32, na: f32, nb: f32| (c / (na * nb).sqrt()) as f64;
    assert_eq!(co.similarity(A, B), f(2.0, 2.0, 2.0)); // 2/√4 = 1
    assert_eq!(co.similarity(A, C), f(2.0, 2.0, 4.0)); // 2/√8 ≈ 0.70711
    assert_eq!(co.similarity(C, B), f(3.0, 4.0, 2.0)); // 3/√8 ≈ 1.06066
    assert_eq!(co.similarity(E, C), f(1.0, 6.0, 4.0)); // 1/√24 ≈ 0.20412
    assert_eq!(co.similarity(D, E), f(5.0, 1.0, 6.0)); // 5/√6 ≈ 2.04124
    assert!((co.similarity(A, C) - 0.5f64.sqrt()).abs() < 1e-6);
    assert!((co.similarity(D, E) - 2.041_241_4).abs() < 1e-6);
    assert_eq!((co.similarity(A, A), co.similarity(F, F)), (1.0, 1.0));
    assert_eq!((co.similarity(A, D), co.similarity(D, F)), (0.0, 0.0));
    assert_eq!(co.similarity(A, 99), 0.0, "unknown item");
}

#[test]
fn neighbors_are_most_similar_first_ties_by_smaller_id() {
    let (d, history) = tiny();
    let co = CoOccurrence::fit(&d, &history);
    let ids = |v: Vec<(u32, f32)>| v.into_iter().map(|(i, _)| i).collect::<Vec<_>>();
    // c: b 1.06066, a 0.70711, e 0.20412.
    let nc = co.neighbors(C, 10);
    assert_eq!(ids(nc.clone()), vec![B, A, E]);
    assert_eq!(nc[0].1 as f64, co.similarity(C, B));
    assert_eq!(ids(co.neighbors(C, 2)), vec![B, A]);
    // e: d and f tie at 5/√6 (d first, smaller id), then c.
    assert_eq!(ids(co.neighbors(E, 10)), vec![D, F, C]);
    assert_eq!(ids(co.neighbors(E, 1)), vec![D]);
    assert_eq!(co.neighbors(E, 0), vec![]);
    // Never itself; f met only e.
    assert_eq!(ids(co.neighbors(F, 5)), vec![E]);
    let all = co.all_neighbors(2);
    assert_eq!(all.len(), 6);
    for i in 0..6 {
        assert_eq!(all[i as usize], co.neighbors(i, 2));
    }
}

#[test]
fn ppmi_keeps_positive_pmi_of_the_symmetric_counts() {
    let (d, history) = tiny();
    let p = CoOccurrence::fit(&d, &history).ppmi();
    // Row sums of C: a 4, b 5, c 6, d 5, e 11, f 5; total T = 36.
    // PMI = ln(c·T/(r_a r_b)): ab ln(72/20), ac ln(72/24), bc ln(108/30), de = ef ln(180/55),
    // ce ln(36/66) < 0 is dropped.
    let get = |a: u32, b: u32| {
        let (cols, vals) = p.row(a as usize);
        cols.iter().position(|&c| c == b).map(|k| vals[k])
    };
    let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-12;
    assert!(close(get(A, B), 3.6f64.ln()) && close(get(B, A), 3.6f64.ln()));
    assert!(close(get(A, C), 3.0f64.ln()));
    assert!(close(get(B, C), 3.6f64.ln()));
    assert!(close(get(D, E), (180.0f64 / 55.0).ln()) && close(get(F, E), (180.0f64 / 55.0).ln()));
    assert_eq!((get(C, E), get(E, C), get(A, A)), (None, None, None));
    assert_eq!((p.n_rows, p.n_cols, p.nnz()), (6, 6, 10));
}

/// A random orthogonal n × k matrix (row-major): Gram-Schmidt of Gaussian columns.
fn random_orthonormal(n: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let mut cols: Vec<Vec<f64>> = Vec::new();
    while cols.len() < k {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            for q in &cols {
                let d: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(v, q)| *v -= d * q);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        cols.push(v.into_iter().map(|x| x / norm).collect());
    }
    (0..n * k).map(|x| cols[x % k][x / k]).collect()
}

/// Checks the top `rank` singular values against `s` and the columns of U against ±`q`.
fn check_svd(a: &[f64], m: usize, n: usize, q: &[f64], s: &[f64], rank: usize) {
    let (u, sv) = truncated_svd(&SparseRows::from_dense(m, n, a), rank, 3);
    assert_eq!((u.len(), sv.len()), (m * rank, rank));
    for c in 0..rank {
        assert!((sv[c] - s[c]).abs() < 1e-6, "σ{c}: {} vs {}", sv[c], s[c]);
        let dot: f64 = (0..m).map(|i| u[i * rank + c] * q[i * s.len() + c]).sum();
        assert!((dot.abs() - 1.0).abs() < 1e-6, "column {c}: |u·q| = {dot}");
        for i in 0..m {
            assert!((u[i * rank + c].abs() - q[i * s.len() + c].abs()).abs() < 1e-6);
        }
        // Sign convention: the largest entry of each column is positive.
        let big = (0..m).map(|i| u[i * rank + c]).fold(0.0f64, |b, x| if x.abs() > b.abs() { x } else { b });
        assert!(big > 0.0);
    }
}

#[test]
fn truncated_svd_recovers_known_singular_values_and_vectors() {
    let mut rng = Rng::new(11);
    // Symmetric A = Q diag(s) Qᵀ, 40 × 40, with a gap after the fourth value.
    let n = 40;
    let s: Vec<f64> =
        (0..n).map(|k| if k < 4 { [10.0, 7.0, 5.0, 3.0][k] } else { 0.5 * 0.9f64.powi(k as i32) }).collect();
    let q = random_orthonormal(n, n, &mut rng);
    let a: Vec<f64> = (0..n * n)
        .map(|x| {
            let (i, j) = (x / n, x % n);
            (0..n).map(|k| q[i * n + k] * s[k] * q[j * n + k]).sum()
        })
        .collect();
    check_svd(&a, n, n, &q, &s, 4);

    // Rectangular 25 × 60 of rank 6: A = U diag(s) Vᵀ.
    let (m, n, r) = (25, 60, 6);
    let s = [9.0, 6.5, 4.0, 2.5, 1.0, 0.25];
    let u = random_orthonormal(m, r, &mut rng);
    let v = random_orthonormal(n, r, &mut rng);
    let a: Vec<f64> =
        (0..m * n).map(|x| (0..r).map(|k| u[(x / n) * r + k] * s[k] * v[(x % n) * r + k]).sum()).collect();
    check_svd(&a, m, n, &u, &s, 6);
    // Asking for more than the rank: the rest is (numerically) zero.
    let (_, sv) = truncated_svd(&SparseRows::from_dense(m, n, &a), 8, 3);
    assert!(sv[6] < 1e-9 && sv[7] < 1e-9, "{sv:?}");
    // More than min(rows, cols): padded with zeros.
    let (u3, sv3) = truncated_svd(&SparseRows::from_dense(3, 2, &[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]), 4, 1);
    assert_eq!(sv3.len(), 4);
    assert!((sv3[0] - 2.0).abs() < 1e-12 && (sv3[1] - 1.0).abs() < 1e-12 && sv3[2] == 0.0 && sv3[3] == 0.0);
    // Row 0 of U is e₂ (σ = 1, second column), row 1 is e₁ (σ = 2, first column).
    assert!((u3[1] - 1.0).abs() < 1e-12 && (u3[4] - 1.0).abs() < 1e-12, "{u3:?}");
}

/// Two taste groups of six items; sessions stay in one group; items 0 and 1 always appear
/// together (adjacent) in group-0 sessions, item 6 only in group-1 sessions.
fn planted() -> Dataset {
    let mut catalog = Catalog::new(0);
    for i in 0..12 {
        catalog.intern(&format!("track:{i}"));
    }
    let mut rng = Rng::new(9);
    let sessions = (0..200)
        .map(|s| {
            let group = (s % 2) as u32 * 6;
            let mut items: Vec<u32> = Vec::new();
            for _ in 0..6 {
                match group + rng.below(6) as u32 {
                    0 | 1 => items.extend([0, 1]),
                    i => items.push(i),
                }
            }
            let events = items
                .into_iter()
                .enumerate()
                .map(|(p, item)| Interaction {
                    item,
                    action: Action::Complete,
                    ms_played: None,
                    time_ms: (s * 1_000_000 + p * 1000) as f64,
                })
                .collect();
            Session { id: format!("s{s}"), user: None, events }
        })
        .collect();
    Dataset { name: "planted".into(), catalog, sessions, content_only: false }
}

fn cosine(e: &[f32], dim: usize, a: usize, b: usize) -> f32 {
    let (x, y) = (&e[a * dim..(a + 1) * dim], &e[b * dim..(b + 1) * dim]);
    let dot: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let n = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>().sqrt();
    dot / (n(x) * n(y))
}

#[test]
fn ppmi_embeddings_put_items_that_co_occur_closer_than_items_that_never_do() {
    let d = planted();
    let history: Vec<usize> = (0..d.sessions.len()).collect();
    let co = CoOccurrence::fit(&d, &history);
    assert_eq!(co.pair_count(0, 6), 0.0);
    let dim = 4;
    let e = ppmi_embeddings(&co, dim, 1);
    assert_eq!(e.len(), 12 * dim);
    for i in 0..12 {
        let norm: f32 = e[i * dim..(i + 1) * dim].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "item {i}: norm {norm}");
    }
    let (together, never) = (cosine(&e, dim, 0, 1), cosine(&e, dim, 0, 6));
    assert!(together > 0.5 && together > never + 0.5, "cos(0,1) = {together}, cos(0,6) = {never}");
    // Same group beats other group across the board.
    assert!(cosine(&e, dim, 2, 3) > cosine(&e, dim, 2, 8));
    // Items never seen stay zero.
    let mut d2 = d.clone();
    d2.catalog.intern("track:unseen");
    let e2 = ppmi_embeddings(&CoOccurrence::fit(&d2, &history), dim, 1);
    assert!(e2[12 * dim..].iter().all(|&x| x == 0.0));
}

#[test]
fn embeddings_are_bit_identical_for_the_same_seed() {
    let d = homerank::sim::simulate(&homerank::sim::SimConfig { n_users: 60, ..Default::default() });
    let history: Vec<usize> = (0..d.sessions.len()).collect();
    let co = CoOccurrence::fit(&d, &history);
    let a = ppmi_embeddings(&co, 16, 42);
    let b = ppmi_embeddings(&CoOccurrence::fit(&d, &history), 16, 42);
    assert_eq!(a.len(), d.catalog.len() * 16);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a.iter().any(|&x| x != 0.0));
    let (u1, s1) = truncated_svd(&co.ppmi(), 8, 5);
    let (u2, s2) = truncated_svd(&co.ppmi(), 8, 5);
    assert!(u1.iter().zip(&u2).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(s1.iter().zip(&s2).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn sknn_matches_a_hand_computed_case() {
    // Items 1..=7 (ids "0".."7"); history sessions with their last-event times:
    //   h0 {1,2,3} t≈100, h1 {2,4} t≈200, h2 {3,4,5} t≈300, h3 {6,7} t≈400.
    // s4 is held out (it holds 5 often; it must not count). History passed out of time order.
    let d = letters("01234567", &[("123", 100e6), ("24", 200e6), ("345", 300e6), ("67", 400e6), ("5555", 500e6)]);
    let history = vec![2, 0, 3, 1];
    let at = |items: &[u32]| -> Vec<Interaction> {
        items.iter().map(|&item| Interaction { item, action: Action::Skip, ms_played: None, time_ms: 0.0 }).collect()
    };
    let sknn = Sknn::fit(&d, &history);
    // Prefix 1, 3, 2 (L = 3): weights 1 → 1/3, 3 → 2/3, 2 → 3/3; D = 3 distinct items.
    // Sample: h2, h1, h0 (h3 holds no prefix item).
    //   sim(h0) = (1/3 + 2/3 + 1)/3 = 2/3;  sim(h1) = 1/3;  sim(h2) = (2/3)/3 = 2/9.
    // score(4) = sim(h1) + sim(h2) = 5/9; score(5) = 2/9; score(1) = 2/3; score(2) = 2/3 + 1/3 = 1;
    // score(3) = 2/3 + 2/9 = 8/9; score(6) = 0.
    let got = sknn.scores(&at(&[1, 3, 2]), &[4, 5, 1, 2, 3, 6]);
    let want = [5.0 / 9.0, 2.0 / 9.0, 2.0 / 3.0, 1.0, 8.0 / 9.0, 0.0];
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
    // A repeated item weighs by its latest position: prefix 2, 1, 2 → 2 weighs 1, 1 weighs 2/3,
    // D = 2: sim(h0) = (1 + 2/3)/2 = 5/6, sim(h1) = 1/2; h2 holds neither.
    // score(3) = 5/6, score(4) = 1/2, score(5) = 0.
    let got = sknn.scores(&at(&[2, 1, 2]), &[3, 4, 5]);
    for (g, w) in got.iter().zip([5.0 / 6.0, 0.5, 0.0]) {
        assert!((*g as f64 - w).abs() < 1e-6, "{got:?}");
    }
    // sample = 2 keeps the two most recent sessions holding a prefix item (h2, h1), k = 1 the
    // more similar of them (h1, 1/3 > 2/9): score(4) = 1/3, score(2) = 1/3, score(5) = score(1) = 0.
    let small = Sknn::fit_with(&d, &history, SknnConfig { sample: 2, k: 1 });
    let got = small.scores(&at(&[1, 3, 2]), &[4, 2, 5, 1]);
    for (g, w) in got.iter().zip([1.0 / 3.0, 1.0 / 3.0, 0.0, 0.0]) {
        assert!((*g as f64 - w).abs() < 1e-6, "{got:?}");
    }
    assert_eq!(sknn.scores(&[], &[1, 2]), vec![0.0, 0.0]);
}

/// V-SKNN as its module documents it, over the whole history (every session compared, nothing
/// pruned): the reference for the index, which keeps only each item's `sample` most recent sessions.
fn sknn_reference(
    d: &Dataset,
    history: &[usize],
    config: SknnConfig,
    prefix: &[Interaction],
    cands: &[u32],
) -> Vec<f32> {
    // Most recent first: last event's time, then later in the history list.
    let mut sessions: Vec<(f64, usize, Vec<u32>)> = history
        .iter()
        .enumerate()
        .filter_map(|(k, &s)| {
            let events = &d.sessions[s].events;
            let mut items: Vec<u32> = events.iter().map(|e| e.item).collect();
            items.sort_unstable();
            items.dedup();
            events.last().map(|last| (last.time_ms, k, items))
        })
        .collect();
    sessions.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut weights: Vec<(u32, f64)> = Vec::new();
    for (p, e) in prefix.iter().enumerate() {
        weights.retain(|&(i, _)| i != e.item);
        weights.push((e.item, (p + 1) as f64 / prefix.len() as f64));
    }
    weights.sort_unstable_by_key(|&(i, _)| i);
    let holds = |items: &[u32], i: u32| items.binary_search(&i).is_ok();
    let sample = sessions.iter().filter(|(_, _, items)| weights.iter().any(|&(i, _)| holds(items, i)));
    let mut scored: Vec<(usize, f64)> = sample
        .take(config.sample)
        .map(|(_, k, items)| {
            let dot: f64 = weights.iter().filter(|&&(i, _)| holds(items, i)).map(|(_, w)| w).sum();
            (*k, dot / weights.len() as f64)
        })
        .collect();
    // Stable: among equal similarities the more recent stays first.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(config.k);
    let items_of = |k: usize| &sessions.iter().find(|s| s.1 == k).unwrap().2;
    cands
        .iter()
        .map(|&c| scored.iter().filter(|&&(k, _)| holds(items_of(k), c)).map(|(_, s)| s).sum::<f64>() as f32)
        .collect()
}

#[test]
fn the_sknn_index_keeps_only_sessions_it_can_sample_and_scores_as_the_whole_history() {
    // 40 items, 600 sessions of 1..=8 events; the times repeat so that ties are broken by the
    // place in the history list.
    let mut rng = Rng::new(11);
    let mut catalog = Catalog::new(0);
    (0..40).for_each(|i| _ = catalog.intern(&format!("i{i}")));
    let sessions: Vec<Session> = (0..600)
        .map(|s| Session {
            id: format!("s{s}"),
            user: None,
            events: (0..1 + rng.below(8))
                .map(|_| Interaction {
                    item: (rng.below(40) * rng.below(40) / 40) as u32, // a popular head and a long tail
                    action: Action::Complete,
                    ms_played: None,
                    time_ms: (rng.below(150) * 1000) as f64,
                })
                .collect(),
        })
        .collect();
    let d = Dataset { name: "sknn".into(), catalog, sessions, content_only: false };
    let mut history: Vec<usize> = (0..500).collect();
    rng.shuffle(&mut history);
    let mut nonzero = 0;
    // k = sample: every sampled session votes, so a session missing from the index shows.
    for config in [SknnConfig { sample: 12, k: 12 }, SknnConfig { sample: 12, k: 5 }] {
        let sknn = Sknn::fit_with(&d, &history, config);
        assert!(sknn.n_sessions() < history.len() / 2, "{} of {} sessions kept", sknn.n_sessions(), history.len());
        // Added in another order, the index is the same.
        let mut indexer = SknnIndexer::new(config);
        for (k, &s) in history.iter().enumerate().rev() {
            let events = &d.sessions[s].events;
            let items = events.iter().map(|e| e.item).collect();
            indexer.add(IndexedSession { k, time_ms: events.last().unwrap().time_ms, items });
        }
        let reversed = indexer.finish();
        let cands: Vec<u32> = (0..40).collect();
        for s in 500..600 {
            let events = &d.sessions[s].events;
            for t in 1..=events.len() {
                let want = sknn_reference(&d, &history, config, &events[..t], &cands);
                assert_eq!(sknn.scores(&events[..t], &cands), want, "{config:?}: session {s}, prefix {t}");
                assert_eq!(
                    reversed.scores(&events[..t], &cands),
                    want,
                    "{config:?}: session {s}, prefix {t}, reversed"
                );
                nonzero += want.iter().filter(|&&x| x > 0.0).count();
            }
        }
    }
    assert!(nonzero > 2000, "{nonzero}");
}

/// Item-kNN as it was before `CoOccurrence` (a copy of the old `ItemKnn`), the reference.
#[derive(Default)]
struct OldItemKnn {
    pairs: HashMap<(u32, u32), f32>,
    counts: HashMap<u32, f32>,
}

impl OldItemKnn {
    fn fit(dataset: &Dataset, train: &[usize]) -> Self {
        let mut knn = OldItemKnn::default();
        for &s in train {
            let items: Vec<u32> = dataset.sessions[s].events.iter().map(|e| e.item).collect();
            for (p, &i) in items.iter().enumerate() {
                *knn.counts.entry(i).or_default() += 1.0;
                for &j in &items[p + 1..(p + 1 + 5).min(items.len())] {
                    if i != j {
                        *knn.pairs.entry((i.min(j), i.max(j))).or_default() += 1.0;
                    }
                }
            }
        }
        knn
    }

    fn similarity(&self, a: u32, b: u32) -> f64 {
        if a == b {
            return 1.0;
        }
        let Some(&c) = self.pairs.get(&(a.min(b), a.max(b))) else { return 0.0 };
        let na = self.counts.get(&a).copied().unwrap_or(1.0);
        let nb = self.counts.get(&b).copied().unwrap_or(1.0);
        (c / (na * nb).sqrt()) as f64
    }

    fn scores(&self, case: &RankingCase) -> Vec<f32> {
        let n = case.prefix.len();
        case.candidates
            .iter()
            .map(|&c| {
                case.prefix
                    .iter()
                    .enumerate()
                    .map(|(p, e)| {
                        let sign = match e.action {
                            Action::Skip | Action::Dislike => -1.0,
                            a if a.is_positive() => 1.0,
                            _ => 0.3,
                        };
                        0.8f64.powi((n - 1 - p) as i32) * sign * self.similarity(e.item, c)
                    })
                    .sum::<f64>() as f32
            })
            .collect()
    }
}

#[test]
fn item_knn_scores_exactly_as_before() {
    let d = homerank::sim::simulate(&homerank::sim::SimConfig { n_users: 60, ..Default::default() });
    let cut = d.sessions.len() * 7 / 10;
    let train: Vec<usize> = (0..cut).collect();
    let (old, new) = (OldItemKnn::fit(&d, &train), ItemKnn::fit(&d, &train));
    let n_items = d.catalog.len() as u32;
    let mut checked = 0;
    for a in 0..n_items {
        for b in 0..n_items {
            if old.pairs.contains_key(&(a.min(b), a.max(b))) || a == b || (a * 31 + b) % 97 == 0 {
                assert_eq!(old.similarity(a, b).to_bits(), new.similarity(a, b).to_bits(), "({a}, {b})");
                checked += 1;
            }
        }
    }
    assert!(old.pairs.len() > 1000 && checked > 2 * old.pairs.len());
    // Cases from the held-out sessions: every prefix, 40 random candidates plus the target and
    // two prefix items (the "repeat" path).
    let mut rng = Rng::new(3);
    let all_neighbors = new.cooccurrence().all_neighbors(usize::MAX);
    let mut cases = 0;
    for s in cut..d.sessions.len() {
        let events = &d.sessions[s].events;
        for t in (1..events.len()).step_by(3) {
            let mut candidates: Vec<u32> = (0..40).map(|_| rng.below(n_items as usize) as u32).collect();
            candidates.extend([events[t].item, events[0].item, events[t - 1].item]);
            let case =
                RankingCase { session: s, prefix: events[..t].to_vec(), candidates, target: 40, skipped: vec![] };
            let (want, got) = (old.scores(&case), new.scores(&case));
            assert!(want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "session {s} t {t}");
            // With every neighbour kept, the neighbour-list variant is the same scorer.
            let nb = neighbor_knn_scores(&case, &all_neighbors);
            assert!(want.iter().zip(&nb).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert!(want.iter().any(|&x| x != 0.0) || t < 2);
            cases += 1;
        }
    }
    assert!(cases > 100, "{cases}");
}

#[test]
fn embedding_knn_scores_use_the_item_knn_weighting() {
    // Three items in 2-d: 0 = (1,0), 1 = (0,1), 2 = (0.6, 0.8).
    let emb = [1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
    let ev = |item, action| Interaction { item, action, ms_played: None, time_ms: 0.0 };
    let case = RankingCase {
        session: 0,
        prefix: vec![ev(0, Action::Complete), ev(1, Action::Skip)],
        candidates: vec![0, 1, 2],
        target: 0,
        skipped: vec![],
    };
    // Weights: item 0 → 0.8 (age 1, positive), item 1 → −1 (age 0, skip).
    // c0: 0.8·1 − 0 = 0.8; c1: 0 − 1 = −1; c2: 0.8·0.6 − 0.8 = −0.32.
    let got = embedding_knn_scores(&case, &emb, 2);
    for (g, w) in got.iter().zip([0.8, -1.0, -0.32]) {
        assert!((*g as f64 - w).abs() < 1e-6, "{got:?}");
    }
}

/// Timings and a small quality check on a real log (ignored: needs the log). Run with
/// `HOMERANK_STATS_LOG=/tmp/basic.jsonl cargo test --release --test stats -- --ignored --nocapture`.
#[test]
#[ignore]
fn timings_on_a_real_log() {
    use std::time::Instant;
    let path = std::env::var("HOMERANK_STATS_LOG").unwrap_or_else(|_| "/tmp/basic.jsonl".into());
    let t = Instant::now();
    let d = homerank::data::jsonl::load(std::path::Path::new(&path)).expect("log");
    println!(
        "load: {:.2}s, {} items, {} sessions, {} events",
        t.elapsed().as_secs_f64(),
        d.catalog.len(),
        d.sessions.len(),
        d.n_events()
    );
    let mut order: Vec<usize> = (0..d.sessions.len()).collect();
    order.sort_by(|&a, &b| d.sessions[a].start_ms().total_cmp(&d.sessions[b].start_ms()).then(a.cmp(&b)));
    let cut = order.len() * 8 / 10;
    let (history, held_out) = (order[..cut].to_vec(), order[order.len() * 9 / 10..].to_vec());
    let t = Instant::now();
    let co = CoOccurrence::fit(&d, &history);
    println!("CoOccurrence::fit: {:.2}s, nnz {}", t.elapsed().as_secs_f64(), co.nnz());
    let t = Instant::now();
    let p = co.ppmi();
    println!("ppmi: {:.2}s, nnz {}", t.elapsed().as_secs_f64(), p.nnz());
    let mut embeddings = HashMap::new();
    for dim in [32, 64] {
        let t = Instant::now();
        let e = ppmi_embeddings(&co, dim, 1);
        println!("ppmi_embeddings dim {dim}: {:.2}s", t.elapsed().as_secs_f64());
        embeddings.insert(dim, e);
    }
    let t = Instant::now();
    let nb = co.all_neighbors(32);
    println!("all_neighbors(32): {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let sknn = Sknn::fit(&d, &history);
    println!("Sknn::fit: {:.2}s", t.elapsed().as_secs_f64());

    // Cases as in linear_floor.py: the last four `complete`s of each held-out session, 50
    // candidates from a window of the popularity ranking around the target.
    let mut pop: Vec<u32> = (0..co.n_items() as u32).collect();
    pop.sort_by(|&a, &b| co.count(b).total_cmp(&co.count(a)).then(a.cmp(&b)));
    let mut pos = vec![0usize; pop.len()];
    for (r, &i) in pop.iter().enumerate() {
        pos[i as usize] = r;
    }
    let mut rng = Rng::new(7);
    let mut cases = Vec::new();
    for &s in &held_out {
        let ev = &d.sessions[s].events;
        let ts: Vec<usize> = (1..ev.len()).filter(|&t| ev[t].action == Action::Complete).collect();
        for &t in &ts[ts.len().saturating_sub(4)..] {
            let r = pos[ev[t].item as usize];
            let lo = r.saturating_sub(rng.below(50)).min(pop.len() - 50);
            let candidates = pop[lo..lo + 50].to_vec();
            let target = candidates.iter().position(|&c| c == ev[t].item).unwrap();
            let prefix = ev[t.saturating_sub(64)..t].to_vec();
            cases.push(RankingCase { session: s, prefix, candidates, target, skipped: vec![] });
        }
        if cases.len() >= 4000 {
            break;
        }
    }
    let ndcg = |scores: &[f32], t: usize| {
        let r = scores.iter().enumerate().filter(|&(k, &s)| s > scores[t] || (s == scores[t] && k < t)).count();
        if r < 10 {
            1.0 / ((r + 2) as f64).log2()
        } else {
            0.0
        }
    };
    let knn = ItemKnn::fit(&d, &history);
    let mut sums: Vec<(&str, f64)> = vec![
        ("server", 0.0),
        ("item-kNN", 0.0),
        ("neighbour-kNN top32", 0.0),
        ("emb-kNN 32", 0.0),
        ("emb-kNN 64", 0.0),
        ("V-SKNN", 0.0),
    ];
    let t0 = Instant::now();
    for c in &cases {
        let server: Vec<f32> = (0..50).map(|k| -(k as f32)).collect();
        let all = [
            server,
            knn.scores(c),
            neighbor_knn_scores(c, &nb),
            embedding_knn_scores(c, &embeddings[&32], 32),
            embedding_knn_scores(c, &embeddings[&64], 64),
            sknn.scores(&c.prefix, &c.candidates),
        ];
        for (k, s) in all.iter().enumerate() {
            sums[k].1 += ndcg(s, c.target);
        }
    }
    println!("{} cases scored in {:.2}s", cases.len(), t0.elapsed().as_secs_f64());
    for (name, s) in sums {
        println!("NDCG@10 {name:22} {:.4}", s / cases.len() as f64);
    }
}
