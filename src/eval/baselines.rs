//! Baselines beside HR-S: popularity, an in-session item-kNN heuristic, and the same heuristic
//! over a truncated neighbour list or over learned embeddings.
//!
//! Item-kNN: similarity is the cosine of co-occurrence counts within training sessions (window
//! of 5, see [`CoOccurrence`]); a candidate's score sums its similarity to each prefix item,
//! weighted by recency (0.8^age) and by the sign of the action there (+1 positive, −1 skip or
//! dislike, 0.3 for other signals); a candidate that *is* a prefix item gets similarity 1
//! (repeats are a strong signal). Ties keep the server order.

use super::cases::RankingCase;
use super::cooccur::CoOccurrence;
use crate::dataset::Dataset;
use crate::event::Action;

const DECAY: f64 = 0.8;

/// Popularity scores (training counts) of a case's candidates.
pub fn popularity_scores(case: &RankingCase, counts: &[u32]) -> Vec<f32> {
    case.candidates.iter().map(|&i| counts[i as usize] as f32).collect()
}

/// Co-occurrence statistics of the training sessions.
#[derive(Debug, Clone, Default)]
pub struct ItemKnn {
    co: CoOccurrence,
}

impl ItemKnn {
    /// Counts co-occurrences in the `train` sessions (indices into `dataset.sessions`).
    pub fn fit(dataset: &Dataset, train: &[usize]) -> Self {
        ItemKnn { co: CoOccurrence::fit(dataset, train) }
    }

    /// Item-kNN over counts already made.
    pub fn new(co: CoOccurrence) -> Self {
        ItemKnn { co }
    }

    /// The statistics underneath.
    pub fn cooccurrence(&self) -> &CoOccurrence {
        &self.co
    }

    /// Cosine of the co-occurrence counts of items `a` and `b`: 1 for `a == b`, 0 for items
    /// never together.
    pub fn similarity(&self, a: u32, b: u32) -> f64 {
        self.co.similarity(a, b)
    }

    /// Item-kNN score of each of the case's candidates, in candidate order (higher is better).
    pub fn scores(&self, case: &RankingCase) -> Vec<f32> {
        prefix_scores(case, |a, b| self.co.similarity(a, b))
    }
}

/// Item-kNN restricted to each candidate's `neighbors` (as from [`CoOccurrence::all_neighbors`],
/// indexed by item): similarity to a prefix item outside the candidate's list counts 0; a
/// candidate that is a prefix item still gets 1.
pub fn neighbor_knn_scores(case: &RankingCase, neighbors: &[Vec<(u32, f32)>]) -> Vec<f32> {
    prefix_scores(case, |prefix_item, candidate| {
        if prefix_item == candidate {
            return 1.0;
        }
        let list = neighbors.get(candidate as usize).map_or(&[][..], |l| l.as_slice());
        list.iter().find(|(j, _)| *j == prefix_item).map_or(0.0, |&(_, s)| s as f64)
    })
}

/// The item-kNN weighting over the dot products of learned embeddings (row-major, `dim` per
/// item; with unit rows, as [`super::svd::ppmi_embeddings`] gives, the cosine).
pub fn embedding_knn_scores(case: &RankingCase, embeddings: &[f32], dim: usize) -> Vec<f32> {
    let row = |i: u32| &embeddings[i as usize * dim..(i as usize + 1) * dim];
    prefix_scores(case, |a, b| row(a).iter().zip(row(b)).map(|(x, y)| (x * y) as f64).sum())
}

/// Σ over prefix events of 0.8^age · sign(action) · sim(prefix item, candidate), per candidate.
fn prefix_scores(case: &RankingCase, sim: impl Fn(u32, u32) -> f64) -> Vec<f32> {
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
                    DECAY.powi((n - 1 - p) as i32) * sign * sim(e.item, c)
                })
                .sum::<f64>() as f32
        })
        .collect()
}
