//! Test helpers: a seeded random HR-S model (a test fixture, never shipped), page builders, the
//! shared golden fixture of the HR-S core, and rank statistics.
#![allow(dead_code)]

pub mod reference;

use std::collections::HashMap;
use std::path::PathBuf;

use homerank::model::{write_model, HrsConfig, Precision, TensorKind};
use homerank::testing::{CandidateKey, EventKey, Features};
use homerank::{Action, HomePage, HomeRanker, Item, ItemType, Neighbor, Shelf};

/// Small deterministic PRNG (SplitMix64) so fixtures do not depend on a crate's RNG.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Seeded random f32 weights for every tensor of `config` (row-major, matmul weights `[out, in]`).
pub fn seeded_weights(config: &HrsConfig, seed: u64) -> HashMap<String, Vec<f32>> {
    let mut rng = Rng(seed);
    config
        .tensor_specs()
        .into_iter()
        .map(|spec| {
            let n: usize = spec.shape.iter().product();
            let name = spec.name.as_str();
            let (mean, std) = if spec.kind == TensorKind::Matmul {
                (0.0, 1.0 / (spec.shape[1] as f64).sqrt())
            } else if name.ends_with(".g") {
                (1.0, 0.1)
            } else if name.starts_with("embed.") {
                (0.0, 0.5)
            } else if name == "head.w_server" {
                (0.5, 0.0)
            } else if name == "head.out.w" || name == "sim.mean" || name == "head.w_sim" {
                (0.0, 0.3)
            } else if name == "sim.scale" {
                (1.0, 0.2)
            } else {
                (0.0, 0.05)
            };
            let v: Vec<f32> = (0..n).map(|_| (mean + std * rng.normal()) as f32).collect();
            (spec.name, v)
        })
        .collect()
}

/// Name of the random test model; it is a fixture, never the shipped default.
pub const FIXTURE_MODEL_NAME: &str = "homerank-s-test-fixture";

/// GGUF bytes of the seeded random model.
pub fn fixture_model_bytes(seed: u64, precision: Precision) -> Vec<u8> {
    let config = HrsConfig::default();
    write_model(&config, FIXTURE_MODEL_NAME, &seeded_weights(&config, seed), precision, &[("purpose", "test fixture")])
        .unwrap()
}

pub fn fixture_ranker(seed: u64, precision: Precision) -> HomeRanker {
    HomeRanker::from_bytes(&fixture_model_bytes(seed, precision)).unwrap()
}

/// A page of `n_shelves` shelves with `per_shelf` items each, ids `s{shelf}-i{item}`, random
/// embeddings, types cycling over the catalogue kinds, 5 artists, and on items of even rank a
/// neighbour list of three items of the next shelf.
pub fn make_page(n_shelves: usize, per_shelf: usize, dim: usize, seed: u64) -> HomePage {
    let mut rng = Rng(seed);
    let types = [ItemType::Track, ItemType::Episode, ItemType::Audiobook, ItemType::Playlist];
    HomePage {
        page_id: format!("page-{seed}"),
        embedding_dim: dim,
        shelves: (0..n_shelves)
            .map(|s| Shelf {
                id: format!("shelf-{s}"),
                title: format!("Shelf {s}"),
                pinned: false,
                min_items: None,
                max_items: None,
                items: (0..per_shelf)
                    .map(|i| Item {
                        id: format!("s{s}-i{i}"),
                        item_type: types[(s + i) % types.len()],
                        server_score: Some(1.0 - i as f32 / per_shelf as f32),
                        embedding: (0..dim).map(|_| rng.normal() as f32).collect(),
                        artist_id: Some(format!("artist:{}", rng.below(5))),
                        duration_ms: Some(180_000.0),
                        neighbors: (i % 2 == 0).then(|| {
                            (1..=per_shelf.min(3))
                                .map(|k| Neighbor {
                                    id: format!("s{}-i{}", (s + 1) % n_shelves, (i + k) % per_shelf),
                                    weight: 1.0 / (k as f32 + 1.0),
                                })
                                .collect()
                        }),
                    })
                    .collect(),
            })
            .collect(),
    }
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One case of the shared HR-S core fixture.
pub struct CoreCase {
    pub n: usize,
    pub l: usize,
    pub session: Vec<f32>,
    pub cands: Vec<f32>,
    pub server_score: Vec<f32>,
    pub numpy_f64: Vec<f64>,
    pub ort_fp32: Vec<f64>,
    pub ort_int8: Vec<f64>,
}

/// The shared golden fixture of the HR-S core (see [`core_fixture_from`]).
pub fn core_fixture() -> (HashMap<String, Vec<f32>>, Vec<CoreCase>) {
    let dir = fixture_dir().join("hr-s-core");
    core_fixture_from(
        &std::fs::read_to_string(dir.join("hr_s_weights.json")).unwrap(),
        &std::fs::read(dir.join("hr_s_weights.bin")).unwrap(),
        &std::fs::read_to_string(dir.join("fixture.json")).unwrap(),
    )
}

/// The shared fixture's weights, transposed into homerank's layout (`[out, in]`), plus zero
/// embedding tables (the core fixture starts after the embedding stage).
pub fn core_fixture_from(
    index_json: &str,
    blob: &[u8],
    fixture_json: &str,
) -> (HashMap<String, Vec<f32>>, Vec<CoreCase>) {
    let index: serde_json::Value = serde_json::from_str(index_json).unwrap();
    let floats: Vec<f32> = blob.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let config = HrsConfig::default();
    let mut weights: HashMap<String, Vec<f32>> = HashMap::new();
    for t in index["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let shape: Vec<usize> = t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let off = t["offset_bytes"].as_u64().unwrap() as usize / 4;
        let len = t["len"].as_u64().unwrap() as usize;
        let mut values = floats[off..off + len].to_vec();
        // The fixture stores linear weights [in, out]; homerank stores [out, in].
        if let [rows, cols] = shape[..] {
            values = (0..cols)
                .flat_map(|c| (0..rows).map(move |r| (r, c)))
                .map(|(r, c)| floats[off + r * cols + c])
                .collect();
        }
        weights.insert(name.to_owned(), values);
    }
    for spec in config.tensor_specs() {
        weights.entry(spec.name.clone()).or_insert_with(|| vec![0.0; spec.shape.iter().product()]);
    }
    let fixture: serde_json::Value = serde_json::from_str(fixture_json).unwrap();
    let f32s =
        |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<_>>();
    let f64s = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let cases = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| CoreCase {
            n: c["N"].as_u64().unwrap() as usize,
            l: c["L"].as_u64().unwrap() as usize,
            session: f32s(&c["session"]),
            cands: f32s(&c["cands"]),
            server_score: f32s(&c["server_score"]),
            numpy_f64: f64s(&c["scores_numpy_f64"]),
            ort_fp32: f64s(&c["scores_ort_fp32"]),
            ort_int8: f64s(&c["scores_ort_int8"]),
        })
        .collect();
    (weights, cases)
}

/// Kendall's tau-a between two score vectors over the same items.
pub fn kendall_tau(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            let x = (a[i] - a[j]).signum() * (b[i] - b[j]).signum();
            s += x as i64;
        }
    }
    s as f64 / (n * (n - 1) / 2) as f64
}

/// Indices that sort `scores` best first (ties by index).
pub fn argsort_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Features of `n` candidates and `l` events with real similarity features (events on some
/// candidates, shared artists, neighbour lists), for engine-against-engine checks.
pub fn similarity_features(n: usize, l: usize, dim: usize, seed: u64) -> Features {
    let mut rng = Rng(seed);
    let mut f = Features::new(dim);
    let mut events = Vec::new();
    let actions = [Action::Play, Action::Skip, Action::Complete, Action::Like, Action::Dislike, Action::Dwell];
    let types = [ItemType::Track, ItemType::Episode, ItemType::Audiobook, ItemType::Playlist];
    for age in (0..l).rev() {
        let e: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
        let ms = [None, Some(2_000.0), Some(40_000.0), Some(300_000.0)][rng.below(4)];
        let action = actions[rng.below(actions.len())];
        f.push_event(&e, action, ms, age, types[rng.below(types.len())]);
        events.push(EventKey { item: rng.below(n.max(1)) as u32, artist: Some(rng.below(5) as u32), action });
    }
    for i in 0..n {
        let e: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
        f.push_candidate(&e, types[rng.below(types.len())], i % 20, i / 20, 1.0 - (i % 20) as f32 / 20.0);
    }
    // Real similarity features: events on some of the candidates, shared artists, and neighbour
    // lists on every other candidate.
    let lists: Vec<Vec<(u32, f32)>> =
        (0..n).map(|i| (1..4).map(|k| (((i + 7 * k) % n) as u32, 0.2 * k as f32)).collect()).collect();
    let cands: Vec<CandidateKey<'_, u32>> = (0..n)
        .map(|i| CandidateKey {
            item: i as u32,
            artist: Some((i % 5) as u32),
            neighbors: (i % 2 == 0).then(|| lists[i].as_slice()),
        })
        .collect();
    f.set_similarity(&events, &cands);
    f
}

/// Candidate indices by descending score, ties by index.
pub fn order(scores: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Trained weights by tensor name, flattened, in name order: for exact comparisons of two runs.
#[cfg(feature = "candle")]
pub fn weights_as_vecs(w: &HashMap<String, candle_core::Tensor>) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> =
        w.iter().map(|(k, t)| (k.clone(), t.flatten_all().unwrap().to_vec1::<f32>().unwrap())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
