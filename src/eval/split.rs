//! The time-ordered windows of the protocol. Sessions are ordered by start time and cut into
//!
//! ```text
//! 0 %          60 %          80 %        90 %        100 %
//! |— history A —|— train cases —|— valid —|— test —|
//! |———————— history B ——————————|
//! ```
//!
//! Training cases are scored with statistics fitted on history A (embeddings, the server,
//! co-occurrence, neighbours); validation and test cases with statistics fitted on history B.
//! No ranking case's session is ever part of the history its statistics come from, and nothing
//! of the future is seen by anything fitted for the past. (Fitting on the training cases' own
//! sessions leaks: a target's embedding then already holds its co-occurrence with that very
//! prefix, a signal no test case has.)

use super::protocol::Part;
use crate::dataset::Dataset;

/// Where the default windows end: history A, training cases, validation (test to the end).
pub const DEFAULT_FRACTIONS: (f64, f64, f64) = (0.6, 0.8, 0.9);

/// Session indices of each window, each in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// History the training cases are scored with.
    pub history_train: Vec<usize>,
    /// Sessions the training cases come from.
    pub train: Vec<usize>,
    /// History the validation and test cases are scored with: `history_train` then `train`.
    pub history_eval: Vec<usize>,
    /// Sessions the validation cases come from (early stopping).
    pub valid: Vec<usize>,
    /// Sessions the test cases come from (the reported tables).
    pub test: Vec<usize>,
}

impl Split {
    /// The sessions `part`'s cases come from, in time order.
    pub fn window(&self, part: Part) -> &[usize] {
        match part {
            Part::Train => &self.train,
            Part::Valid => &self.valid,
            Part::Test => &self.test,
        }
    }

    /// Cuts the time-ordered sessions at the given fractions (`a ≤ b ≤ c`): history A up to
    /// `a`, training cases up to `b`, validation up to `c`, test after.
    pub fn by_time(dataset: &Dataset, a: f64, b: f64, c: f64) -> Self {
        let mut order: Vec<usize> =
            (0..dataset.sessions.len()).filter(|&i| !dataset.sessions[i].events.is_empty()).collect();
        order.sort_by(|&x, &y| {
            dataset.sessions[x].start_ms().total_cmp(&dataset.sessions[y].start_ms()).then(x.cmp(&y))
        });
        let (a, b, c) = Self::cuts(order.len(), (a, b, c));
        Split {
            history_train: order[..a].to_vec(),
            train: order[a..b].to_vec(),
            history_eval: order[..b].to_vec(),
            valid: order[b..c].to_vec(),
            test: order[c..].to_vec(),
        }
    }

    /// The default windows: 60 / 20 / 10 / 10.
    pub fn default_for(dataset: &Dataset) -> Self {
        let (a, b, c) = DEFAULT_FRACTIONS;
        Self::by_time(dataset, a, b, c)
    }

    /// The first time ranks of the training, validation and test windows among `n` sessions
    /// cut at `fractions` (as [`Split::by_time`] cuts them).
    pub fn cuts(n: usize, fractions: (f64, f64, f64)) -> (usize, usize, usize) {
        let cut = |f: f64| ((n as f64) * f).round() as usize;
        let (a, b, c) = fractions;
        (cut(a).min(n), cut(b).clamp(cut(a).min(n), n), cut(c).clamp(cut(b).min(n), n))
    }
}
