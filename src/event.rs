//! In-session signals from the player (docs/ARCHITECTURE.md, "The contract"). They stay on the device.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::page::{ItemType, MAX_ID_LEN};

/// One thing the listener did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEvent {
    /// The item acted on (`itemId`): the `id` of a page item, non-empty, at most 512 bytes.
    pub item_id: String,
    /// What the listener did (`action`, lower-case in JSON).
    pub action: Action,
    /// How long the item played (or the card was looked at, for `dwell`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_played: Option<f64>,
    /// Wall-clock time of the event; used only to keep events in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<f64>,
    /// The item's embedding, when the player knows it; otherwise it is looked up among the
    /// items of pages the ranker has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// The item's type, when known; otherwise taken from a page the item appeared on.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<ItemType>,
    /// The item's artist (or show, or author), when known; otherwise taken from a page the item
    /// appeared on. The model matches artists between the session and the candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<String>,
}

/// What the listener did. Unknown actions are an [`Error::InvalidEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The card was shown. A weak signal (weight 0.3 in the similarity features).
    Impression,
    /// The listener opened the card. Positive.
    Click,
    /// Playback started (or ended, without a skip, before the item's end). Positive.
    Play,
    /// The item played to its end. Positive.
    Complete,
    /// Playback was skipped. Negative: candidates close to the item move down
    /// (`RerankOptions::negative_feedback`).
    Skip,
    /// The listener liked the item. Positive.
    Like,
    /// The listener disliked the item. Negative, like [`Action::Skip`].
    Dislike,
    /// Saved to the library or a playlist. Positive.
    Save,
    /// The card was looked at (for `msPlayed` ms) without a play. A weak signal, like an impression.
    Dwell,
}

impl Action {
    /// Number of actions (rows of the model's action table).
    pub const COUNT: usize = 9;
    /// Every action, in table order.
    pub const ALL: [Action; Action::COUNT] = [
        Action::Impression,
        Action::Click,
        Action::Play,
        Action::Complete,
        Action::Skip,
        Action::Like,
        Action::Dislike,
        Action::Save,
        Action::Dwell,
    ];

    /// Row of this action in the model's action table.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The action called `name` (lower-case, as in JSON); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Lower-case name as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Impression => "impression",
            Action::Click => "click",
            Action::Play => "play",
            Action::Complete => "complete",
            Action::Skip => "skip",
            Action::Like => "like",
            Action::Dislike => "dislike",
            Action::Save => "save",
            Action::Dwell => "dwell",
        }
    }

    /// Whether this action says the listener wanted more of the item.
    pub fn is_positive(self) -> bool {
        matches!(self, Action::Play | Action::Complete | Action::Like | Action::Save | Action::Click)
    }
}

impl SessionEvent {
    /// A minimal event: an item and an action.
    pub fn new(item_id: impl Into<String>, action: Action) -> Self {
        SessionEvent {
            item_id: item_id.into(),
            action,
            ms_played: None,
            timestamp_ms: None,
            embedding: None,
            item_type: None,
            artist_id: None,
        }
    }

    /// Sets `msPlayed`.
    pub fn with_ms_played(mut self, ms: f64) -> Self {
        self.ms_played = Some(ms);
        self
    }

    /// Sets the embedding.
    pub fn with_embedding(mut self, embedding: Vec<f32>) -> Self {
        self.embedding = Some(embedding);
        self
    }

    /// Parses one event from JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "event", message: e.to_string() })
    }

    /// Parses newline-delimited JSON events; blank lines are skipped, errors name the line.
    pub fn from_jsonl(text: &str) -> Result<Vec<Self>> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| Error::Json { what: "event", message: format!("line {}: {e}", i + 1) })
            })
            .collect()
    }

    /// Checks the event against the contract and the model's embedding dimension.
    pub fn validate(&self, expected_dim: usize) -> Result<()> {
        let at = || format!("event for item '{}'", self.item_id);
        if self.item_id.is_empty() {
            return Err(Error::InvalidEvent("itemId is empty".into()));
        }
        if self.item_id.len() > MAX_ID_LEN {
            return Err(Error::InvalidEvent(format!(
                "itemId is {} bytes long, at most {MAX_ID_LEN} are allowed",
                self.item_id.len()
            )));
        }
        if let Some(a) = self.artist_id.as_ref().filter(|a| a.len() > MAX_ID_LEN) {
            return Err(Error::InvalidEvent(format!(
                "{}: artistId is {} bytes long, at most {MAX_ID_LEN} are allowed",
                at(),
                a.len()
            )));
        }
        for (name, v) in [("msPlayed", self.ms_played), ("timestampMs", self.timestamp_ms)] {
            if let Some(v) = v.filter(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::InvalidEvent(format!("{}: {name} is {v}, expected a finite number >= 0", at())));
            }
        }
        if let Some(e) = &self.embedding {
            if e.len() != expected_dim {
                return Err(Error::EmbeddingDim { expected: expected_dim, got: e.len(), context: at() });
            }
            if let Some(i) = e.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidEvent(format!(
                    "{}: embedding[{i}] is {}, expected a finite number",
                    at(),
                    e[i]
                )));
            }
        }
        Ok(())
    }
}
