//! Ranking metrics for one relevant item per list, and bootstrap confidence intervals.

use crate::rng::Rng;

/// NDCG@k with a single relevant item at 0-based `rank`: 1/log2(rank + 2) inside the cut-off.
pub fn ndcg_at(rank: usize, k: usize) -> f64 {
    if rank < k {
        1.0 / ((rank + 2) as f64).log2()
    } else {
        0.0
    }
}

/// Reciprocal rank of the relevant item.
pub fn reciprocal_rank(rank: usize) -> f64 {
    1.0 / (rank + 1) as f64
}

/// Hit rate: 1 when the relevant item is in the top `k`.
pub fn hit_at(rank: usize, k: usize) -> f64 {
    (rank < k) as u8 as f64
}

/// Share of the top 3 slots taken by items the listener skipped (`None` when the list has no
/// skip-labelled item, so the point does not count towards skip@3).
pub fn skip_at_3(order: &[usize], skipped: &[usize]) -> Option<f64> {
    if skipped.is_empty() {
        return None;
    }
    let top = order.iter().take(3);
    Some(top.filter(|i| skipped.contains(i)).count() as f64 / 3.0)
}

/// Mean and a two-sided percentile bootstrap interval of the mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean of the values; NaN when there are none.
    pub mean: f64,
    /// Lower end of the interval (the `(1 − level) / 2` quantile of the resampled means).
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Number of values (cases) the estimate is over.
    pub n: usize,
}

/// Percentile bootstrap of the mean of `values` (`resamples` draws, `level` e.g. 0.95).
pub fn bootstrap_mean(values: &[f64], resamples: usize, level: f64, seed: u64) -> Estimate {
    let n = values.len();
    if n == 0 {
        return Estimate { mean: f64::NAN, lo: f64::NAN, hi: f64::NAN, n: 0 };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let mut rng = Rng::new(seed);
    let mut means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Estimate { mean, lo: quantile(&means, tail), hi: quantile(&means, 1.0 - tail), n }
}

/// The `q` quantile of sorted, non-empty `draws` (the percentile bootstrap's interval ends).
pub fn quantile(draws: &[f64], q: f64) -> f64 {
    draws[((q * draws.len() as f64) as usize).min(draws.len() - 1)]
}

/// 0-based position of `item` in `order`.
pub fn rank_of(order: &[usize], item: usize) -> usize {
    order.iter().position(|&i| i == item).unwrap_or(order.len())
}

/// Candidate indices by descending score, ties kept in the given (server) order.
pub fn order_by(scores: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}
