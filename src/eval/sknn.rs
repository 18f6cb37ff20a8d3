//! Session-based kNN (V-SKNN, Ludewig & Jannach, "Evaluation of session-based recommendation
//! algorithms", 2018): a candidate scores by how many recent history sessions similar to the
//! current prefix contain it.
//!
//! The variant implemented, exactly:
//!
//! * History: every event of each history session counts, whatever its action; a session is the
//!   set of its distinct items, and its time is that of its last event.
//! * Prefix weights (V-SKNN's linear "div" decay): with the prefix's events at positions
//!   `p = 1..=L` (oldest first), an item weighs `p / L` for its *latest* position `p`, so the
//!   most recent event weighs 1. Actions are ignored.
//! * Sample: the `sample` (default 500) most recent history sessions (latest time first; ties:
//!   later in the history list first) that contain any prefix item.
//! * Similarity of a sampled session `n`: `sim(n) = Σ_{i ∈ prefix ∩ n} w(i) / D`, with `D` the
//!   number of distinct prefix items (the dot product of the weighted prefix vector with `n`'s
//!   binary vector, over `D`, as in the reference implementation's `vec` similarity).
//! * Neighbours: the `k` (default 100) sampled sessions of highest `sim` (ties: more recent first).
//! * `score(c) = Σ_{n ∈ neighbours, c ∈ n} sim(n)`, 0 when no neighbour holds `c`.
//!
//! Left out of the full reference V-SKNN: the IDF weighting of matched items and the position
//! decay of the match inside the neighbour session (`weighting_score`), and time decay.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::dataset::{Dataset, Interaction};

/// Sample and neighbourhood sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SknnConfig {
    /// Most recent sessions sharing an item with the prefix that are compared with it.
    pub sample: usize,
    /// Nearest of them that vote.
    pub k: usize,
}

impl Default for SknnConfig {
    fn default() -> Self {
        SknnConfig { sample: 500, k: 100 }
    }
}

/// A history session as [`SknnIndexer::add`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedSession {
    /// Its place in the history's session list (later first among equal times; unique).
    pub k: usize,
    /// Its last event's time (ms).
    pub time_ms: f64,
    /// Its events' items.
    pub items: Vec<u32>,
}

/// The history sessions V-SKNN can sample (each item's `sample` most recent: [`SknnIndexer`]),
/// indexed.
#[derive(Debug, Clone, Default)]
pub struct Sknn {
    config: SknnConfig,
    /// Distinct items (increasing) of each session kept, most recent session first.
    sessions: Vec<Vec<u32>>,
    /// Per item, the (recency-ordered) indices into `sessions` that contain it, increasing.
    postings: HashMap<u32, Vec<u32>>,
}

impl Sknn {
    /// Indexes `sessions` (indices into `dataset.sessions`) with the default [`SknnConfig`].
    pub fn fit(dataset: &Dataset, sessions: &[usize]) -> Self {
        Self::fit_with(dataset, sessions, SknnConfig::default())
    }

    /// [`Sknn::fit`] with another sample and neighbourhood size.
    pub fn fit_with(dataset: &Dataset, sessions: &[usize], config: SknnConfig) -> Self {
        let mut indexer = SknnIndexer::new(config);
        for (k, &s) in sessions.iter().enumerate() {
            let events = &dataset.sessions[s].events;
            if let Some(last) = events.last() {
                indexer.add(IndexedSession {
                    k,
                    time_ms: last.time_ms,
                    items: events.iter().map(|e| e.item).collect(),
                });
            }
        }
        indexer.finish()
    }

    /// Number of history sessions the index holds: those among some item's `sample` most
    /// recent (see [`SknnIndexer`]).
    pub fn n_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The sample and neighbourhood sizes it was built with.
    pub fn config(&self) -> SknnConfig {
        self.config
    }

    /// The neighbour sessions of a prefix (indices into the recency-ordered history) with their
    /// similarity, most similar first.
    pub fn neighbors(&self, prefix: &[Interaction]) -> Vec<(u32, f64)> {
        let len = prefix.len();
        let mut weights: Vec<(u32, f64)> = Vec::new();
        for (p, e) in prefix.iter().enumerate() {
            let w = (p + 1) as f64 / len as f64;
            match weights.iter_mut().find(|(i, _)| *i == e.item) {
                Some(entry) => entry.1 = w,
                None => weights.push((e.item, w)),
            }
        }
        weights.sort_unstable_by_key(|&(i, _)| i);
        let distinct = weights.len() as f64;
        // The m most recent sessions holding any prefix item are among the first m of each list.
        let mut sample: Vec<u32> = Vec::new();
        for (i, _) in &weights {
            if let Some(list) = self.postings.get(i) {
                sample.extend_from_slice(&list[..list.len().min(self.config.sample)]);
            }
        }
        sample.sort_unstable();
        sample.dedup();
        sample.truncate(self.config.sample);
        let mut scored: Vec<(u32, f64)> = sample
            .into_iter()
            .map(|r| {
                let items = &self.sessions[r as usize];
                let dot: f64 = weights.iter().filter(|(i, _)| items.binary_search(i).is_ok()).map(|(_, w)| w).sum();
                (r, dot / distinct)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(self.config.k);
        scored
    }

    /// V-SKNN scores of `candidates` after `prefix` (all zero for an empty prefix).
    pub fn scores(&self, prefix: &[Interaction], candidates: &[u32]) -> Vec<f32> {
        let neighbors = self.neighbors(prefix);
        candidates
            .iter()
            .map(|c| {
                neighbors
                    .iter()
                    .filter(|(r, _)| self.sessions[*r as usize].binary_search(c).is_ok())
                    .map(|(_, s)| s)
                    .sum::<f64>() as f32
            })
            .collect()
    }
}

/// Builds a [`Sknn`] from history sessions given one at a time, in any order, for a reader that
/// streams the history instead of holding it. [`Sknn::neighbors`] samples the most recent
/// sessions holding a prefix item, `sample` at most, so only a session among some item's
/// `sample` most recent can ever be sampled: the indexer keeps each item's `sample` most recent
/// sessions and lets go of a session once no item keeps it. The index is the one of the whole
/// history (same scores, bit for bit), and memory is bounded by items × `sample` sessions,
/// whatever the history's length.
#[derive(Debug, Default)]
pub struct SknnIndexer {
    config: SknnConfig,
    /// Per item (by index), its most recent sessions so far as `(recency, slot)`, the least
    /// recent on top.
    recent: Vec<BinaryHeap<Reverse<(Recency, u32)>>>,
    /// The sessions some item keeps, each in a slot; a slot no item keeps is free for the next.
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// A session the indexer holds, and how many items keep it (0: a free slot).
#[derive(Debug)]
struct Slot {
    recency: Recency,
    items: Vec<u32>,
    keepers: u32,
}

/// The order [`Sknn`] ranks history sessions in, most recent greatest: the last event's time
/// (as `f64::total_cmp` orders it), then the place in the history list (places past `u32::MAX`,
/// more sessions than a history in memory holds, would tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Recency(u64, u32);

impl Recency {
    fn of(session: &IndexedSession) -> Self {
        Recency(super::total_order::f64_ascending(session.time_ms), u32::try_from(session.k).unwrap_or(u32::MAX))
    }
}

impl SknnIndexer {
    /// An empty index with `config`'s sample and neighbourhood sizes.
    pub fn new(config: SknnConfig) -> Self {
        SknnIndexer { config, ..Default::default() }
    }

    /// Adds a history session (items in any order, repeats allowed; its place `k` not given
    /// before).
    pub fn add(&mut self, session: IndexedSession) {
        let recency = Recency::of(&session);
        let mut items = session.items;
        items.sort_unstable();
        items.dedup();
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot { recency, items: Vec::new(), keepers: 0 });
            self.slots.len() as u32 - 1
        });
        let mut keepers = 0u32;
        for &item in &items {
            if item as usize >= self.recent.len() {
                self.recent.resize_with(item as usize + 1, BinaryHeap::new);
            }
            let heap = &mut self.recent[item as usize];
            if heap.len() == self.config.sample && heap.peek().is_some_and(|&Reverse((least, _))| least > recency) {
                continue; // older than every session the item keeps
            }
            heap.push(Reverse((recency, slot)));
            keepers += 1;
            if heap.len() > self.config.sample {
                let Reverse((_, dropped)) = heap.pop().expect("longer than the sample");
                if dropped == slot {
                    keepers -= 1;
                } else {
                    let other = &mut self.slots[dropped as usize];
                    other.keepers -= 1;
                    if other.keepers == 0 {
                        other.items = Vec::new();
                        self.free.push(dropped);
                    }
                }
            }
        }
        if keepers > 0 {
            items.shrink_to_fit();
            self.slots[slot as usize] = Slot { recency, items, keepers };
        } else {
            self.free.push(slot);
        }
    }

    /// The index of the sessions added.
    pub fn finish(self) -> Sknn {
        drop(self.recent);
        let mut sessions: Vec<(Recency, Vec<u32>)> =
            self.slots.into_iter().filter(|s| s.keepers > 0).map(|s| (s.recency, s.items)).collect();
        sessions.sort_unstable_by_key(|&(r, _)| Reverse(r));
        let mut sknn = Sknn { config: self.config, ..Default::default() };
        for (r, (_, items)) in sessions.into_iter().enumerate() {
            for &i in &items {
                sknn.postings.entry(i).or_default().push(r as u32);
            }
            sknn.sessions.push(items);
        }
        sknn
    }
}
