//! Evaluation from a prepared directory (`homerank eval --prep DIR`) without reading the log
//! into memory, as `training` does for the trainer. `evaluate`'s case draws (`EvalDraws`) are
//! capped, and which sessions they read is decided before any session's events are held
//! (`eval::sessions_read`): for the window lists from each session's number of picks, for the
//! server's top N from its picked targets and its listener's server ranking, which history B
//! gives. Memory holds the catalogue, both histories' statistics, item-kNN's pair counts and the
//! session-kNN index of history B (the two server-side baselines: items², and each history
//! session's distinct items), and the events of the drawn sessions: not the log.
//!
//! The `events` table is streamed twice: once for each session's picks and for the session-kNN
//! index, once to keep the drawn sessions' events. `tests/prep.rs` checks that the tables give
//! `evaluate` exactly what the whole log in memory gives it.

use std::collections::{HashMap, HashSet};

use super::reader::Kept;
use super::PreparedTables;
use crate::error::{Error, Result};
use crate::eval::{
    eligible_positions, picks, sessions_read, CandidateList, EvalConfig, EvalDraws, IndexedSession, Part, Prepared,
    RecentRankings, SknnConfig, SknnIndexer,
};

impl PreparedTables {
    /// The data `evaluate` with `config` needs, from this directory: the windows, both
    /// histories with the learned embeddings (width `dim`) and the baselines, and a dataset
    /// that holds the events of the sessions its case draws read and no others. `evaluate` on
    /// it gives what it gives on the whole log in memory. The mid-term context
    /// (`prior_events` > 0) reads the listener's other sessions, which this does not hold: it is
    /// refused.
    pub fn prepared_for_evaluation(&self, config: &EvalConfig, dim: usize) -> Result<Prepared> {
        if config.cases.prior_events > 0 {
            return Err(Error::InvalidOptions(
                "evaluation from a prepared directory's tables does not support prior_events (the mid-term context): \
                 read the log into memory instead"
                    .into(),
            ));
        }
        let mut split = self.split()?;
        let n_sessions = self.manifest.sessions as usize;
        // Which sessions a draw reads does not depend on how many events the model reads.
        let draws = EvalDraws::new(config, 0);
        let window = |part: Part| split.window(part);
        // The sessions a top-N draw may read: its cases depend on their picks' server ranks.
        let mut ranked = vec![false; n_sessions];
        for (part, draw) in draws.all() {
            if draw.list == CandidateList::ServerTop {
                window(part).iter().for_each(|&s| ranked[s] = true);
            }
        }
        let mut place_in_history = vec![u32::MAX; n_sessions];
        for (k, &s) in split.history_eval.iter().enumerate() {
            place_in_history[s] = k as u32;
        }

        // Pass 1: each session's number of eligible positions, the targets of the picks of the
        // sessions top-N draws rank, and history B's sessions for the session-kNN index.
        let mut eligible = vec![0u32; n_sessions];
        let mut targets: HashMap<usize, Vec<u32>> = HashMap::new();
        let mut indexer = SknnIndexer::new(SknnConfig::default());
        self.each_session(|s, events| {
            eligible[s] = eligible_positions(events).len() as u32;
            if ranked[s] {
                targets
                    .insert(s, picks(events, draws.server_top.per_session).iter().map(|&t| events[t].item).collect());
            }
            if let (Some(&k), Some(last)) = (place_in_history.get(s).filter(|&&k| k != u32::MAX), events.last()) {
                let items = events.iter().map(|e| e.item).collect();
                indexer.add(IndexedSession { k: k as usize, time_ms: last.time_ms, items });
            }
            Ok(())
        })?;
        drop(place_in_history);
        let sknn = indexer.finish();

        // What the window-list draws read, known from the picks alone.
        let mut read = vec![false; n_sessions];
        for (part, draw) in draws.all().into_iter().filter(|(_, d)| d.list == CandidateList::Window) {
            for s in sessions_read(window(part), |s| (eligible[s] as usize).min(draw.per_session), draw) {
                read[s] = true;
            }
        }
        // The listeners of the sessions the draws may read, whose server rankings the cases use.
        let mut listeners: HashMap<usize, String> = HashMap::new();
        self.each_listener(|s, _, user| {
            if let (true, Some(user)) = (read[s] || ranked[s], user) {
                listeners.insert(s, user.to_owned());
            }
        })?;
        let listeners_of = |parts: &[Part]| -> HashSet<String> {
            let sessions = parts.iter().flat_map(|&p| window(p));
            sessions.filter_map(|s| listeners.get(s).cloned()).collect()
        };
        let kept_a = Kept { listeners: listeners_of(&[Part::Train]), sknn: None };
        let kept_b = Kept { listeners: listeners_of(&[Part::Valid, Part::Test]), sknn: Some(sknn) };

        let (history_train, history_eval) = self.histories(&self.catalog_only()?, dim, [kept_a, kept_b])?;

        // What the top-N draws read: the picks their listeners' server rankings hold.
        let scorers = [&history_train, &history_eval].map(|h| h.server.scorer(&h.embeddings));
        for (part, draw) in draws.all().into_iter().filter(|(_, d)| d.list == CandidateList::ServerTop) {
            let mut rankings = RecentRankings::new(&scorers[usize::from(part != Part::Train)]);
            let cases_of = |s: usize| match targets.get(&s).filter(|t| !t.is_empty()) {
                Some(targets) => {
                    let user = listeners.get(&s).map(String::as_str);
                    rankings.of(user).in_top(targets, draw.n_cands)
                }
                None => 0,
            };
            for s in sessions_read(window(part), cases_of, draw) {
                read[s] = true;
            }
        }
        drop((eligible, targets, listeners, scorers));
        let dataset = self.dataset_holding(&read, &mut split)?;
        Ok(Prepared::from_parts(dataset, split, history_train, history_eval))
    }
}
