//! Baselines beside HR-S: popularity and an in-session item-kNN heuristic.
//!
//! Item-kNN: similarity is the cosine of co-occurrence counts within training sessions (window
//! of 5); a candidate's score sums its similarity to each prefix item, weighted by recency
//! (0.8^age) and by the sign of the action there (+1 positive, −1 skip or dislike, 0.3 for other
//! signals); a candidate that *is* a prefix item gets similarity 1 (repeats are a strong signal).
//! Ties keep the server order.

use std::collections::HashMap;

use super::cases::RankingCase;
use crate::dataset::Dataset;
use crate::event::Action;

const WINDOW: usize = 5;
const DECAY: f64 = 0.8;

/// Popularity scores (training counts) of a case's candidates.
pub fn popularity_scores(case: &RankingCase, counts: &[u32]) -> Vec<f32> {
    case.candidates.iter().map(|&i| counts[i as usize] as f32).collect()
}

/// Co-occurrence statistics of the training sessions.
#[derive(Debug, Clone, Default)]
pub struct ItemKnn {
    pairs: HashMap<(u32, u32), f32>,
    counts: HashMap<u32, f32>,
}

impl ItemKnn {
    pub fn fit(dataset: &Dataset, train: &[usize]) -> Self {
        let mut knn = ItemKnn::default();
        for &s in train {
            let items: Vec<u32> = dataset.sessions[s].events.iter().map(|e| e.item).collect();
            for (p, &i) in items.iter().enumerate() {
                *knn.counts.entry(i).or_default() += 1.0;
                for &j in &items[p + 1..(p + 1 + WINDOW).min(items.len())] {
                    if i != j {
                        *knn.pairs.entry((i.min(j), i.max(j))).or_default() += 1.0;
                    }
                }
            }
        }
        knn
    }

    pub fn similarity(&self, a: u32, b: u32) -> f64 {
        if a == b {
            return 1.0;
        }
        let Some(&c) = self.pairs.get(&(a.min(b), a.max(b))) else { return 0.0 };
        let na = self.counts.get(&a).copied().unwrap_or(1.0);
        let nb = self.counts.get(&b).copied().unwrap_or(1.0);
        (c / (na * nb).sqrt()) as f64
    }

    pub fn scores(&self, case: &RankingCase) -> Vec<f32> {
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
                        DECAY.powi((n - 1 - p) as i32) * sign * self.similarity(e.item, c)
                    })
                    .sum::<f64>() as f32
            })
            .collect()
    }
}
