//! Featurization, schema 3: turns a page and the session into the model's inputs.
//!
//! Event token inputs: item embedding, action, dwell bucket (from `msPlayed`), recency bucket
//! (position from the newest event) and item type. Candidate token inputs: item embedding, type,
//! server-rank bucket (rank within its shelf), shelf bucket (shelf position on the page), the
//! server score, and the candidate's similarity to the session ([`similarity`], 13 values).
//! Every embedding is scaled to unit L2 norm (a zero vector stays zero), so servers with
//! differently scaled embeddings feed the model alike.
//!
//! The trainer builds the same [`Features`] from logs through the `push_*` methods and
//! [`Features::set_similarity`], so training and serving share one definition of every input.

pub mod similarity;

pub use similarity::{CandidateKey, EventKey, FastHash, SIM_FEATURES};

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

use crate::error::{Error, Result};
use crate::event::Action;
use crate::model::HrsConfig;
use crate::page::{HomePage, ItemType};
use crate::session::SessionState;

/// Version of this featurization; stored in model files and checked at load.
/// Schema 2 added the learned session-start token (see `model::hrs`); schema 3 the similarity
/// features and the page's optional `neighbors`.
pub const FEATURE_SCHEMA: u32 = 3;
/// Rows of the dwell table.
pub const DWELL_BUCKETS: usize = 8;
/// Rows of the recency table.
pub const RECENCY_BUCKETS: usize = 8;
/// Rows of the server-rank table.
pub const RANK_BUCKETS: usize = 16;
/// Rows of the shelf-position table.
pub const SHELF_BUCKETS: usize = 16;

/// Dwell bucket from `msPlayed`: 0 unknown, then <5 s, <15 s, <30 s, <1 min, <2 min, <5 min, longer.
pub fn dwell_bucket(ms_played: Option<f64>) -> usize {
    const EDGES_MS: [f64; 6] = [5e3, 15e3, 30e3, 60e3, 120e3, 300e3];
    match ms_played {
        None => 0,
        Some(ms) => 1 + EDGES_MS.iter().take_while(|&&edge| ms >= edge).count(),
    }
}

/// Recency bucket from the event's age (0 = newest): 0, 1, 2, 3, 4-7, 8-15, 16-31, 32+.
pub fn recency_bucket(age: usize) -> usize {
    match age {
        0..=3 => age,
        4..=7 => 4,
        8..=15 => 5,
        16..=31 => 6,
        _ => 7,
    }
}

/// Server-rank bucket from the rank within the shelf: exact up to 7, then coarser up to 128+.
pub fn rank_bucket(rank: usize) -> usize {
    match rank {
        0..=7 => rank,
        8..=9 => 8,
        10..=11 => 9,
        12..=15 => 10,
        16..=23 => 11,
        24..=31 => 12,
        32..=63 => 13,
        64..=127 => 14,
        _ => 15,
    }
}

/// Shelf bucket from the shelf's position on the page (the 16th and later share a row).
pub fn shelf_bucket(shelf: usize) -> usize {
    shelf.min(SHELF_BUCKETS - 1)
}

/// Token inputs for one forward: `n_events` event rows and `n_cands` candidate rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Embedding dimension E.
    pub dim: usize,
    /// `[n_events, E]`, oldest event first, unit-normalized.
    pub event_embeddings: Vec<f32>,
    /// Per event, its [`Action::index`] (`< Action::COUNT`).
    pub event_action: Vec<u32>,
    /// Per event, its `dwell_bucket` (`< DWELL_BUCKETS`).
    pub event_dwell: Vec<u32>,
    /// Per event, its `recency_bucket` (`< RECENCY_BUCKETS`).
    pub event_recency: Vec<u32>,
    /// Per event, its [`ItemType::index`] (`< ItemType::COUNT`).
    pub event_type: Vec<u32>,
    /// `[n_cands, E]`, page order, unit-normalized.
    pub cand_embeddings: Vec<f32>,
    /// Per candidate, its [`ItemType::index`] (`< ItemType::COUNT`).
    pub cand_type: Vec<u32>,
    /// Per candidate, the `rank_bucket` of its rank in its shelf (`< RANK_BUCKETS`).
    pub cand_rank: Vec<u32>,
    /// Per candidate, the `shelf_bucket` of its shelf's position on the page (`< SHELF_BUCKETS`).
    pub cand_shelf: Vec<u32>,
    /// Per candidate, the page's `serverScore` (0 when missing), as sent.
    pub server_score: Vec<f32>,
    /// `[n_cands, SIM_FEATURES]`, raw (the model normalizes them).
    pub cand_sim: Vec<f32>,
}

impl Features {
    /// Empty features for embeddings of `dim` values.
    pub fn new(dim: usize) -> Self {
        Features { dim, ..Default::default() }
    }

    /// Event rows (L), at most the model's `max_events`.
    pub fn n_events(&self) -> usize {
        self.event_action.len()
    }

    /// Candidate rows (N), one per page item in page order.
    pub fn n_cands(&self) -> usize {
        self.cand_type.len()
    }

    /// The preconditions every engine shares before a forward: the model's embedding width,
    /// 1 to `max_events` events when there are candidates to score, every lookup index within
    /// its table (the layout's row counts, `model::layout`).
    pub fn check(&self, config: &HrsConfig) -> Result<()> {
        if self.dim != config.embedding_dim {
            return Err(Error::EmbeddingDim {
                expected: config.embedding_dim,
                got: self.dim,
                context: "the features".into(),
            });
        }
        let (n, l) = (self.n_cands(), self.n_events());
        if n > 0 && (l == 0 || l > config.max_events) {
            return Err(Error::Forward(format!("{l} session events, the model reads 1 to {}", config.max_events)));
        }
        if self.cand_sim.len() != n * SIM_FEATURES {
            return Err(Error::Forward(format!(
                "{} similarity values for {n} candidates, expected {SIM_FEATURES} each",
                self.cand_sim.len()
            )));
        }
        for (ids, table, rows) in [
            (&self.event_action, "action", Action::COUNT),
            (&self.event_dwell, "dwell", DWELL_BUCKETS),
            (&self.event_recency, "recency", RECENCY_BUCKETS),
            (&self.event_type, "type", ItemType::COUNT),
            (&self.cand_type, "type", ItemType::COUNT),
            (&self.cand_rank, "rank", RANK_BUCKETS),
            (&self.cand_shelf, "shelf", SHELF_BUCKETS),
        ] {
            if let Some(&index) = ids.iter().find(|&&i| i as usize >= rows) {
                return Err(Error::FeatureIndex { table, index, rows });
            }
        }
        Ok(())
    }

    /// Appends an event token input; `age` is 0 for the newest event.
    pub fn push_event(
        &mut self,
        embedding: &[f32],
        action: Action,
        ms_played: Option<f64>,
        age: usize,
        item_type: ItemType,
    ) {
        push_normalized(&mut self.event_embeddings, embedding, self.dim);
        self.event_action.push(action.index() as u32);
        self.event_dwell.push(dwell_bucket(ms_played) as u32);
        self.event_recency.push(recency_bucket(age) as u32);
        self.event_type.push(item_type.index() as u32);
    }

    /// Appends a candidate token input.
    pub fn push_candidate(
        &mut self,
        embedding: &[f32],
        item_type: ItemType,
        rank_in_shelf: usize,
        shelf: usize,
        server_score: f32,
    ) {
        push_normalized(&mut self.cand_embeddings, embedding, self.dim);
        self.cand_type.push(item_type.index() as u32);
        self.cand_rank.push(rank_bucket(rank_in_shelf) as u32);
        self.cand_shelf.push(shelf_bucket(shelf) as u32);
        self.server_score.push(server_score);
    }

    /// Computes the similarity features of the candidates pushed so far against the events
    /// pushed so far (`events` and `cands` describe them, in the same order).
    pub fn set_similarity<K: Copy + Eq + std::hash::Hash>(
        &mut self,
        events: &[EventKey<K>],
        cands: &[CandidateKey<'_, K>],
    ) {
        debug_assert_eq!((events.len(), cands.len()), (self.n_events(), self.n_cands()));
        self.cand_sim.clear();
        similarity::similarity_features(
            events,
            &self.event_embeddings,
            cands,
            &self.cand_embeddings,
            self.dim,
            &mut self.cand_sim,
        );
    }

    /// Features of a validated page and the last `max_events` resolved events of the session's
    /// context (earlier sessions' events, when the mid-term context is on, then the session's).
    pub fn from_page(page: &HomePage, session: &SessionState, max_events: usize) -> Self {
        PageInputs::new(page, |id| id).into_features(session, max_events)
    }
}

/// What a page's features need that no event changes: the candidates' token inputs, and every
/// id the page names — items, artists, neighbours — as a small integer, so that the N × L
/// comparisons of the similarity features compare integers instead of strings. `K` is how the
/// ids are held: borrowed from the page for one rerank, owned where a prepared page keeps them
/// for many (`crate::PreparedPage`).
#[derive(Debug, Clone)]
pub struct PageInputs<K> {
    /// The candidate rows of [`Features`]; no event rows and no similarity yet.
    candidates: Features,
    ids: HashMap<K, u32, FastHash>,
    /// Per candidate: its item and artist.
    keys: Vec<(u32, Option<u32>)>,
    neighbors: Vec<Option<Vec<(u32, f32)>>>,
}

impl<'p, K: Borrow<str> + Eq + Hash> PageInputs<K> {
    /// The inputs of a validated page; `key` makes an id into what the map holds.
    pub fn new(page: &'p HomePage, key: impl Fn(&'p str) -> K) -> Self {
        let mut candidates = Features::new(page.embedding_dim);
        let n = page.items().count();
        let mut ids: HashMap<K, u32, FastHash> = HashMap::with_capacity_and_hasher(2 * n, FastHash::default());
        let mut intern = |id: &'p str| -> u32 {
            let next = ids.len() as u32;
            *ids.entry(key(id)).or_insert(next)
        };
        let mut keys = Vec::with_capacity(n);
        let mut neighbors = Vec::with_capacity(n);
        for (shelf, rank, item) in page.items() {
            candidates.push_candidate(&item.embedding, item.item_type, rank, shelf, item.server_score.unwrap_or(0.0));
            keys.push((intern(&item.id), item.artist_id.as_deref().map(&mut intern)));
            neighbors.push(item.neighbors.as_ref().map(|l| l.iter().map(|nb| (intern(&nb.id), nb.weight)).collect()));
        }
        PageInputs { candidates, ids, keys, neighbors }
    }

    /// The features of these candidates and the last `max_events` resolved events of the
    /// session's context.
    pub fn features(&self, session: &SessionState, max_events: usize) -> Features {
        self.with_session(self.candidates.clone(), session, max_events)
    }

    /// [`PageInputs::features`], taking the candidate rows instead of copying them.
    pub fn into_features(mut self, session: &SessionState, max_events: usize) -> Features {
        let candidates = std::mem::take(&mut self.candidates);
        self.with_session(candidates, session, max_events)
    }

    fn with_session<'s>(&self, mut f: Features, session: &'s SessionState, max_events: usize) -> Features {
        let resolved: Vec<_> =
            session.context().rev().filter_map(|e| e.item.as_ref().map(|item| (e, item))).take(max_events).collect();
        // Ids the page does not name get the integers after the page's.
        let mut extra: HashMap<&'s str, u32, FastHash> = HashMap::default();
        let mut id = |s: &'s str| -> u32 {
            match self.ids.get(s) {
                Some(&i) => i,
                None => {
                    let next = (self.ids.len() + extra.len()) as u32;
                    *extra.entry(s).or_insert(next)
                }
            }
        };
        let mut events = Vec::with_capacity(resolved.len());
        for (age, (ev, item)) in resolved.iter().enumerate().rev() {
            f.push_event(&item.embedding, ev.action, ev.ms_played, age, item.item_type);
            let artist = item.artist.as_deref().map(&mut id);
            events.push(EventKey { item: id(&ev.item_id), artist, action: ev.action });
        }
        let cands: Vec<CandidateKey<'_, u32>> = self
            .keys
            .iter()
            .zip(&self.neighbors)
            .map(|(&(item, artist), neighbors)| CandidateKey { item, artist, neighbors: neighbors.as_deref() })
            .collect();
        f.set_similarity(&events, &cands);
        f
    }
}

fn push_normalized(out: &mut Vec<f32>, embedding: &[f32], dim: usize) {
    debug_assert_eq!(embedding.len(), dim);
    let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    let scale = if norm > 0.0 && norm.is_finite() { 1.0 / norm } else { 0.0 };
    out.extend(embedding.iter().map(|v| v * scale));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_their_edges() {
        assert_eq!(dwell_bucket(None), 0);
        assert_eq!(dwell_bucket(Some(0.0)), 1);
        assert_eq!(dwell_bucket(Some(4_999.0)), 1);
        assert_eq!(dwell_bucket(Some(5_000.0)), 2);
        assert_eq!(dwell_bucket(Some(59_999.0)), 4);
        assert_eq!(dwell_bucket(Some(300_000.0)), 7);
        assert_eq!(dwell_bucket(Some(1e12)), 7);
        assert_eq!((0..40).map(recency_bucket).collect::<Vec<_>>()[..10], [0, 1, 2, 3, 4, 4, 4, 4, 5, 5]);
        assert_eq!(recency_bucket(1000), RECENCY_BUCKETS - 1);
        assert_eq!(rank_bucket(7), 7);
        assert_eq!(rank_bucket(8), 8);
        assert_eq!(rank_bucket(127), 14);
        assert_eq!(rank_bucket(4999), RANK_BUCKETS - 1);
        assert_eq!(shelf_bucket(3), 3);
        assert_eq!(shelf_bucket(99), SHELF_BUCKETS - 1);
    }

    #[test]
    fn embeddings_are_unit_normalized_and_zero_stays_zero() {
        let mut f = Features::new(2);
        f.push_candidate(&[3.0, 4.0], ItemType::Track, 0, 0, 0.5);
        f.push_candidate(&[0.0, 0.0], ItemType::Episode, 9, 20, 0.0);
        assert_eq!(f.cand_embeddings, vec![0.6, 0.8, 0.0, 0.0]);
        assert_eq!(f.cand_type, vec![0, 1]);
        assert_eq!(f.cand_rank, vec![0, 8]);
        assert_eq!(f.cand_shelf, vec![0, 15]);
    }
}
