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

/// Session indices of each window, each in time order. A split for a dataset that holds only
/// some of the log's sessions ([`Split::held_only`]) lists the others as [`Split::NOT_HELD`].
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
    /// The entry of a session its dataset does not hold (see [`Split::held_only`]).
    pub const NOT_HELD: usize = usize::MAX;

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

    /// Number of sessions in the windows (every session with events).
    pub fn n_sessions(&self) -> usize {
        self.history_eval.len() + self.valid.len() + self.test.len()
    }

    /// The split of a dataset that holds only the sessions `held` (ascending session indices of
    /// this split's dataset), in that order: a held session's index becomes its place in `held`,
    /// every other session [`Split::NOT_HELD`]. Each window keeps its length and order, so a case
    /// draw visits it as before (`build_cases` passes over the sessions not held, as over
    /// sessions without cases): a reader of a log too large for memory holds the sessions its
    /// draws read, and no slot for the others.
    pub fn held_only(&mut self, held: &[usize]) {
        let place = |s: &mut usize| *s = held.binary_search(s).unwrap_or(Self::NOT_HELD);
        for list in [&mut self.history_train, &mut self.train, &mut self.history_eval, &mut self.valid, &mut self.test]
        {
            list.iter_mut().for_each(place);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_only_renumbers_the_held_sessions_and_keeps_each_window_in_place() {
        let mut split = Split {
            history_train: vec![4, 0],
            train: vec![2],
            history_eval: vec![4, 0, 2],
            valid: vec![5, 1],
            test: vec![3, 6],
        };
        split.held_only(&[1, 2, 6]);
        let n = Split::NOT_HELD;
        assert_eq!(
            split,
            Split {
                history_train: vec![n, n],
                train: vec![1],
                history_eval: vec![n, n, 1],
                valid: vec![n, 0],
                test: vec![n, 2]
            }
        );
    }
}
