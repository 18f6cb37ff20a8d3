//! Options of one rerank call. Every field has a default, so `{}` is a valid options object.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a rerank may change the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RerankOptions {
    /// Show an item that is on several shelves once, at its highest visible placement.
    pub dedup: bool,
    /// Order unpinned shelves by their items' scores; pinned shelves keep their place.
    pub reorder_shelves: bool,
    /// How many of a shelf's best scores make its aggregate (their mean).
    pub shelf_aggregate_top_k: usize,
    /// Diversity rule: at most this many items of one artist in a row (`None`: off).
    pub max_artist_run: Option<usize>,
    /// Return page validation errors as errors instead of falling back to the server order.
    pub strict: bool,
    /// Explicit negative feedback: how far (in standard deviations of the page's scores) a
    /// candidate identical to a just-skipped or disliked item moves down; closer items move more
    /// (see `feedback`). 0 turns the rule off.
    pub negative_feedback: f32,
}

impl Default for RerankOptions {
    fn default() -> Self {
        RerankOptions {
            dedup: true,
            reorder_shelves: true,
            shelf_aggregate_top_k: 3,
            max_artist_run: None,
            strict: false,
            negative_feedback: 6.0,
        }
    }
}

impl RerankOptions {
    /// Parses options from JSON (camelCase; unknown fields are an error, to catch typos).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "options", message: e.to_string() })
    }

    /// Refuses `shelfAggregateTopK` 0, `maxArtistRun` 0 and a `negativeFeedback` that is
    /// negative or not finite ([`Error::InvalidOptions`]); every rerank checks this first.
    pub fn validate(&self) -> Result<()> {
        if self.shelf_aggregate_top_k == 0 {
            return Err(Error::InvalidOptions("shelfAggregateTopK must be at least 1".into()));
        }
        if self.max_artist_run == Some(0) {
            return Err(Error::InvalidOptions("maxArtistRun must be at least 1 (or null to turn the rule off)".into()));
        }
        if !(self.negative_feedback.is_finite() && self.negative_feedback >= 0.0) {
            return Err(Error::InvalidOptions(format!(
                "negativeFeedback must be a finite number ≥ 0, got {}",
                self.negative_feedback
            )));
        }
        Ok(())
    }
}
