//! The server's non-session ranker, fitted on the training split: popularity (all-time and
//! recent) plus, for known users, the cosine between the user's long-term profile (mean embedding
//! of their positive training items) and the item. It never sees the current session; it plays
//! the part of the server that sends Home.

use std::collections::HashMap;

use super::embed::ItemEmbeddings;
use crate::dataset::Dataset;

/// Weights of the server score's parts.
const W_POPULAR: f32 = 1.0;
const W_RECENT: f32 = 0.5;
const W_PROFILE: f32 = 1.0;

/// The server's session-blind ranker over the catalogue, fitted on one history window.
#[derive(Debug, Clone)]
pub struct ServerModel {
    /// log1p(count) / log1p(max count) over training events.
    popularity: Vec<f32>,
    recent: Vec<f32>,
    profiles: HashMap<String, Vec<f32>>,
    /// Raw training event counts (the popularity baseline ranks by these).
    pub counts: Vec<u32>,
}

impl ServerModel {
    /// Fits popularity (all-time, and over the last tenth of the `train` sessions) and each
    /// known user's profile from the `train` sessions, with `embeddings` for the profiles.
    pub fn fit(dataset: &Dataset, train: &[usize], embeddings: &ItemEmbeddings) -> Self {
        let n = dataset.catalog.len();
        let mut counts = vec![0u32; n];
        let mut recent_counts = vec![0u32; n];
        let last_start = train.last().map_or(0.0, |&s| dataset.sessions[s].start_ms());
        let recent_from = train.get(train.len() * 9 / 10).map_or(last_start, |&s| dataset.sessions[s].start_ms());
        let mut profiles = ProfileSums::new(embeddings);
        for &s in train {
            let session = &dataset.sessions[s];
            for e in &session.events {
                counts[e.item as usize] += 1;
                if e.time_ms >= recent_from {
                    recent_counts[e.item as usize] += 1;
                }
                if let (Some(user), true) = (&session.user, e.action.is_positive()) {
                    profiles.add(user, e.item);
                }
            }
        }
        Self::from_counts(counts, recent_counts, profiles)
    }

    /// The model from its statistics: each item's events in the history and those in its last
    /// tenth (as [`ServerModel::fit`] counts them), and the users' profile sums.
    pub fn from_counts(counts: Vec<u32>, recent_counts: Vec<u32>, profiles: ProfileSums<'_>) -> Self {
        let profiles = profiles.sums.into_iter().map(|(u, v)| (u, crate::embedding::unit(v))).collect();
        ServerModel { popularity: log_scaled(&counts), recent: log_scaled(&recent_counts), profiles, counts }
    }

    /// Server score of every catalogue item for `user`.
    pub fn scores(&self, user: Option<&str>, embeddings: &ItemEmbeddings) -> Vec<f32> {
        self.scorer(embeddings).scores(user)
    }

    /// Scores for many listeners with `embeddings`: each item's unit embedding computed once.
    pub fn scorer(&self, embeddings: &ItemEmbeddings) -> ServerScorer<'_> {
        let units =
            (0..self.popularity.len()).flat_map(|i| crate::embedding::unit(embeddings.of(i as u32).to_vec())).collect();
        ServerScorer { model: self, units, dim: embeddings.dim }
    }
}

/// A [`ServerModel`] with the unit item embeddings its profile term compares with.
pub struct ServerScorer<'a> {
    model: &'a ServerModel,
    /// Each item's embedding scaled to unit length, `dim` values per item.
    units: Vec<f32>,
    dim: usize,
}

impl ServerScorer<'_> {
    /// How many catalogue items it scores.
    pub fn n_items(&self) -> usize {
        self.model.popularity.len()
    }

    /// Server score of every catalogue item for `user`.
    pub fn scores(&self, user: Option<&str>) -> Vec<f32> {
        let model = self.model;
        let profile = user.and_then(|u| model.profiles.get(u));
        (0..model.popularity.len())
            .map(|i| {
                let mut s = W_POPULAR * model.popularity[i] + W_RECENT * model.recent[i];
                if let Some(p) = profile {
                    s += W_PROFILE
                        * p.iter().zip(&self.units[i * self.dim..(i + 1) * self.dim]).map(|(a, b)| a * b).sum::<f32>();
                }
                s
            })
            .collect()
    }
}

/// Each user's sum of the embeddings of their positive history events, added in history order
/// (session by time, then event): the unnormalized profiles.
pub struct ProfileSums<'a> {
    embeddings: &'a ItemEmbeddings,
    sums: HashMap<String, Vec<f32>>,
}

impl<'a> ProfileSums<'a> {
    /// No users yet.
    pub fn new(embeddings: &'a ItemEmbeddings) -> Self {
        ProfileSums { embeddings, sums: HashMap::new() }
    }

    /// Adds a positive event of `user` on `item`.
    pub fn add(&mut self, user: &str, item: u32) {
        let dim = self.embeddings.dim;
        let sum = match self.sums.get_mut(user) {
            Some(sum) => sum,
            None => self.sums.entry(user.to_owned()).or_insert_with(|| vec![0.0; dim]),
        };
        sum.iter_mut().zip(self.embeddings.of(item)).for_each(|(a, b)| *a += b);
    }
}

fn log_scaled(counts: &[u32]) -> Vec<f32> {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f32;
    counts.iter().map(|&c| (c as f32).ln_1p() / max.ln_1p()).collect()
}
