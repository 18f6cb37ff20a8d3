//! What a rerank returns: the page in its new order, with scores and both ranks.

use serde::{Deserialize, Serialize};

use crate::experiment::{Assignment, Exposure};
use crate::page::HomePage;

/// The reranked page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RerankResult {
    /// The page's `pageId`, echoed.
    pub page_id: String,
    /// Shelves in their new order.
    pub shelves: Vec<ShelfResult>,
    /// Items taken out by dedup (shown on a higher shelf instead). Every input item is either in
    /// `shelves` or here.
    pub removed: Vec<RemovedItem>,
    /// What computed the scores: `cpu`, `cpu-simd`, `gpu`, or `none` when no model ran.
    pub backend: String,
    /// Why the GPU was not used although the backend setting asked for it (no adapter, device
    /// lost, validation error, timeout): the scores then come from the CPU. `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_fallback: Option<String>,
    /// The ranker's model, `name@sha256:<12 hex digits>`, set also when no model ran (empty only
    /// from [`RerankResult::server_order`]).
    pub model_id: String,
    /// Session events the model read.
    pub events_used: usize,
    /// Wall-clock time of the call, in milliseconds.
    pub elapsed_ms: f64,
    /// Why the server order was kept, when a step failed; `None` on success and when there
    /// were no session events (then the server order is the answer, not a fallback).
    pub fallback: Option<String>,
    /// The experiment and arm the page was ranked under
    /// ([`crate::HomeRanker::set_experiment`]); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Assignment>,
}

/// One shelf of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShelfResult {
    /// The shelf's `id` on the page.
    pub id: String,
    /// Position of the shelf on the server's page, from 0.
    pub server_rank: usize,
    /// Position of the shelf in the result, from 0; equal to `serverRank` for a pinned shelf.
    pub new_rank: usize,
    /// The page's `pinned`: the shelf kept its place.
    pub pinned: bool,
    /// How many of `items` the layout shows (`maxItems`); the rest follow in rank order.
    pub visible: usize,
    /// The shelf's items in their new order, minus those dedup removed.
    pub items: Vec<ItemScore>,
}

/// One item of a result shelf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemScore {
    /// The item's `id` on the page.
    pub id: String,
    /// The model's score; `None` when no model ran.
    pub score: Option<f32>,
    /// Position in the server's shelf.
    pub server_rank: usize,
    /// Position in the result shelf.
    pub new_rank: usize,
}

/// An item dedup removed from a shelf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedItem {
    /// The item's `id`.
    pub id: String,
    /// The shelf it was removed from (`shelfId`).
    pub shelf_id: String,
    /// Its position in that shelf on the server's page, from 0.
    pub server_rank: usize,
    /// Shelf where the item is shown instead.
    pub kept_in: String,
}

impl RerankResult {
    /// The page exactly as the server ordered it.
    pub fn server_order(page: &HomePage) -> Self {
        RerankResult {
            page_id: page.page_id.clone(),
            shelves: page
                .shelves
                .iter()
                .enumerate()
                .map(|(s, shelf)| ShelfResult {
                    id: shelf.id.clone(),
                    server_rank: s,
                    new_rank: s,
                    pinned: shelf.pinned,
                    visible: visible_count(shelf.items.len(), shelf.max_items),
                    items: shelf
                        .items
                        .iter()
                        .enumerate()
                        .map(|(r, item)| ItemScore { id: item.id.clone(), score: None, server_rank: r, new_rank: r })
                        .collect(),
                })
                .collect(),
            removed: Vec::new(),
            backend: "none".into(),
            backend_fallback: None,
            model_id: String::new(),
            events_used: 0,
            elapsed_ms: 0.0,
            fallback: None,
            experiment: None,
        }
    }

    /// What a rerank with nothing to score returns: the server's page, from `model_id`.
    pub(crate) fn unscored(page: &HomePage, model_id: &str, elapsed_ms: f64) -> Self {
        RerankResult { model_id: model_id.to_owned(), elapsed_ms, ..Self::server_order(page) }
    }

    /// The server's page kept because a step failed, `reason` saying which.
    pub(crate) fn fallback(page: &HomePage, model_id: &str, reason: String, elapsed_ms: f64) -> Self {
        RerankResult { fallback: Some(reason), ..Self::unscored(page, model_id, elapsed_ms) }
    }

    /// Item ids per shelf, in result order (handy in tests and logs).
    pub fn order(&self) -> Vec<(String, Vec<String>)> {
        self.shelves.iter().map(|s| (s.id.clone(), s.items.iter().map(|i| i.id.clone()).collect())).collect()
    }

    /// What to log when this page was shown at `time_ms` ([`Exposure::from_result`]): `None`
    /// without an experiment or under a killed one.
    pub fn exposure(&self, time_ms: f64) -> crate::Result<Option<Exposure>> {
        Exposure::from_result(self, time_ms)
    }

    /// The result as JSON, camelCase fields (the shape the npm package returns).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a result always serializes")
    }
}

pub(crate) fn visible_count(len: usize, max_items: Option<usize>) -> usize {
    max_items.map_or(len, |m| m.min(len))
}
