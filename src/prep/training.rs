//! Training from a prepared directory (`homerank train --prep DIR`) without reading the log
//! into memory. The trainer draws a bounded number of cases per window
//! (`TrainConfig::max_train_cases`, `max_valid_cases`); which sessions those cases come from is
//! decided before any session's events are held (`eval::sessions_read`), so memory holds the
//! catalogue, the histories' pair counts and neighbour lists, each session's place in its
//! window (`Split::held_only`: the sessions not drawn have no slot in the dataset), and the
//! events of the drawn sessions only: not the log.
//!
//! The `events` table is streamed twice, in session order: once to count each session's
//! eligible positions, once to keep the drawn sessions' events. The server ranker's user
//! profiles are summed from a sorted stream of the histories' positive events (a DataFusion
//! plan, which spills), in the order the in-memory fit adds them, so every number matches the
//! in-memory path's (`tests/prep.rs` trains both and compares the weights).

use super::reader::Kept;
use super::PreparedTables;
use crate::error::{Error, Result};
use crate::eval::{eligible_positions, sessions_read, Prepared};
use crate::train::{case_draws, TrainConfig};

impl PreparedTables {
    /// The training source `source` (its index among the trainer's sources) of `config`, from
    /// this directory: the windows, both histories (embeddings, server ranker, pair counts,
    /// neighbour lists) and a dataset that holds the events of the sessions the trainer's case
    /// draws read and no others. `train` on it gives what `train` on the whole log in memory
    /// gives. The mid-term context (`prior_events` > 0) reads the listener's other sessions,
    /// which this does not hold: it is refused.
    pub fn prepared_for_training(&self, config: &TrainConfig, source: usize) -> Result<Prepared> {
        if config.prior_events > 0 {
            return Err(Error::InvalidOptions(
                "training from a prepared directory does not support prior_events (the mid-term context) yet".into(),
            ));
        }
        let mut split = self.split()?;
        let n_sessions = self.manifest.sessions as usize;
        let mut eligible = vec![0u32; n_sessions];
        self.each_session(|s, events| {
            eligible[s] = eligible_positions(events).len() as u32;
            Ok(())
        })?;
        let mut read = vec![false; n_sessions];
        for (part, cc) in case_draws(config, source) {
            for s in sessions_read(split.window(part), |s| (eligible[s] as usize).min(cc.per_session), &cc) {
                read[s] = true;
            }
        }
        drop(eligible);
        let dataset = self.dataset_holding(&read, &mut split)?;

        let kept = Kept::listeners_of(&dataset);
        let (history_train, history_eval) =
            self.histories(&dataset, config.model.embedding_dim, [kept.clone(), kept])?;
        Ok(Prepared::from_parts(dataset, split, history_train, history_eval))
    }
}
