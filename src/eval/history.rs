//! Everything fitted on one history window (see `split`): the server's item embeddings and
//! non-session ranker, the co-occurrence statistics behind item-kNN, each item's neighbour list
//! (what a page's `neighbors` carry), and the session-kNN index. A ranking case is scored with
//! a `History` none of whose sessions is the case's own.

use super::baselines::ItemKnn;
use super::cooccur::CoOccurrence;
use super::embed::{EmbeddingKind, ItemEmbeddings};
use super::server::ServerModel;
use super::sknn::Sknn;
use crate::dataset::Dataset;
use crate::page::MAX_NEIGHBORS;

/// The statistics of one history window, each fitted on its sessions only.
#[derive(Debug, Clone)]
pub struct History {
    /// The server's item embeddings (what a page's `embedding` carries); aligned to history
    /// A's basis for history B.
    pub embeddings: ItemEmbeddings,
    /// The server's session-blind ranker (popularity plus the user's profile).
    pub server: ServerModel,
    /// The item-kNN baseline over this history's co-occurrence counts.
    pub knn: ItemKnn,
    /// Per item, its [`MAX_NEIGHBORS`] most similar items by co-occurrence, with the similarity
    /// (clamped to [0, 1], as a page carries it).
    pub neighbors: Vec<Vec<(u32, f32)>>,
    /// The session-kNN index over these sessions (the SKNN baseline).
    pub sknn: Sknn,
}

impl History {
    /// Fits everything on `sessions`; `align_to`: an earlier fit whose embedding basis to keep.
    pub fn fit(
        dataset: &Dataset,
        sessions: &[usize],
        dim: usize,
        kind: EmbeddingKind,
        align_to: Option<&ItemEmbeddings>,
    ) -> Self {
        let co = CoOccurrence::fit(dataset, sessions);
        let mut neighbors = co.all_neighbors(MAX_NEIGHBORS);
        neighbors.resize(dataset.catalog.len(), Vec::new());
        // A page carries weights in [0, 1]; co-occurrence cosines of repeated items can pass 1.
        neighbors.iter_mut().flatten().for_each(|(_, w)| *w = w.clamp(0.0, 1.0));
        Self::with_statistics(dataset, sessions, co, neighbors, dim, kind, align_to)
    }

    /// [`History::fit`] with the co-occurrence statistics and neighbour lists given (as
    /// `homerank prepare` computes them; `prep::PreparedTables`) instead of counted here.
    pub fn with_statistics(
        dataset: &Dataset,
        sessions: &[usize],
        co: CoOccurrence,
        neighbors: Vec<Vec<(u32, f32)>>,
        dim: usize,
        kind: EmbeddingKind,
        align_to: Option<&ItemEmbeddings>,
    ) -> Self {
        let embeddings = Self::embeddings(dataset, sessions, &co, dim, kind, align_to);
        let server = ServerModel::fit(dataset, sessions, &embeddings);
        History { embeddings, server, knn: ItemKnn::new(co), neighbors, sknn: Sknn::fit(dataset, sessions) }
    }

    /// The server's item embeddings of a history with co-occurrence `co`, in the basis of
    /// `align_to` when given.
    pub fn embeddings(
        dataset: &Dataset,
        sessions: &[usize],
        co: &CoOccurrence,
        dim: usize,
        kind: EmbeddingKind,
        align_to: Option<&ItemEmbeddings>,
    ) -> ItemEmbeddings {
        let embeddings = ItemEmbeddings::build_with(dataset, sessions, co, dim, kind);
        match align_to {
            Some(reference) => embeddings.aligned_to(reference),
            None => embeddings,
        }
    }
}
