//! Train / validation / test split by time: sessions are ordered by start time and cut at the
//! 80th and 90th percentiles, so nothing of the future is seen in training. Everything learned
//! from data (embeddings, popularity, the server baseline, co-occurrence) uses `train` only.

use crate::dataset::Dataset;

/// Session indices of each part, each in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

impl Split {
    /// Splits by session start time at the `train` and `train + valid` fractions.
    pub fn by_time(dataset: &Dataset, train: f64, valid: f64) -> Self {
        let mut order: Vec<usize> =
            (0..dataset.sessions.len()).filter(|&i| !dataset.sessions[i].events.is_empty()).collect();
        order.sort_by(|&a, &b| {
            dataset.sessions[a].start_ms().total_cmp(&dataset.sessions[b].start_ms()).then(a.cmp(&b))
        });
        let n = order.len();
        let a = ((n as f64) * train).round() as usize;
        let b = (((n as f64) * (train + valid)).round() as usize).max(a).min(n);
        Split { train: order[..a].to_vec(), valid: order[a..b].to_vec(), test: order[b..].to_vec() }
    }

    /// The default 80 / 10 / 10 split.
    pub fn default_for(dataset: &Dataset) -> Self {
        Self::by_time(dataset, 0.8, 0.1)
    }
}
