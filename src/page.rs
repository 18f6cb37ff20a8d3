//! The server's Home page: shelves of candidate items in the server's order (the contract in
//! docs/ARCHITECTURE.md, "The contract").
//!
//! JSON field names are camelCase (`pageId`, `serverScore`, …); unknown fields are ignored and
//! unknown item types become [`ItemType::Other`]. [`HomePage::validate`] checks everything the
//! ranker relies on and names the offending shelf, item and field when it fails.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::FastHash;

/// Pages larger than this are refused (the ranker returns the server order, see `RerankOptions`).
pub const MAX_PAGE_ITEMS: usize = 5_000;
/// Longest accepted identifier (page, shelf, item, artist), in bytes.
pub const MAX_ID_LEN: usize = 512;
/// Most `neighbors` an item may carry.
pub const MAX_NEIGHBORS: usize = 32;

/// A Home page as the server sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HomePage {
    /// Opaque page identifier, echoed in the result.
    #[serde(default)]
    pub page_id: String,
    /// Length of every item's `embedding`.
    pub embedding_dim: usize,
    /// Shelves in the server's order.
    pub shelves: Vec<Shelf>,
}

/// One row of the Home page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shelf {
    /// Unique on the page, non-empty, at most 512 bytes (`MAX_ID_LEN`); echoed in the result.
    pub id: String,
    /// Display title; optional, and not read by the ranker.
    #[serde(default)]
    pub title: String,
    /// A pinned shelf keeps its place on the page.
    #[serde(default)]
    pub pinned: bool,
    /// Dedup never takes the shelf below this many items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<usize>,
    /// How many items the layout shows; the rest stay in the result, after them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<usize>,
    /// Candidates in the server's order.
    pub items: Vec<Item>,
}

/// A candidate on a shelf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Non-empty, at most 512 bytes (`MAX_ID_LEN`), once per shelf (the same item may sit on several
    /// shelves); session events refer to it by this id.
    pub id: String,
    /// The JSON field `type`; missing or unknown means [`ItemType::Other`].
    #[serde(rename = "type", default)]
    pub item_type: ItemType,
    /// The server's relevance score; missing means 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_score: Option<f32>,
    /// The server's item embedding, `embeddingDim` values.
    pub embedding: Vec<f32>,
    /// The item's artist (or show, or author), at most 512 bytes (`MAX_ID_LEN`); the model matches
    /// it against the session's artists and `maxArtistRun` limits runs of it. `None`: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<String>,
    /// Length in milliseconds, finite and ≥ 0 when given. Validated but not used for scoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// Optional: the items the server's co-occurrence statistics rank closest to this one, with
    /// their similarity in [0, 1] (at most [`MAX_NEIGHBORS`]). The device matches them against
    /// the session, an on-device item-kNN signal the model reads (`features::similarity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbors: Option<Vec<Neighbor>>,
}

/// One of an item's server-side neighbours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Neighbor {
    /// The neighbour's item id (it need not be on the page); unique within the list.
    pub id: String,
    /// Similarity in [0, 1]; higher is closer.
    pub weight: f32,
}

/// The kind of a candidate. Unknown strings deserialize to [`ItemType::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    /// A music track (`track`).
    Track,
    /// A podcast episode (`episode`).
    Episode,
    /// A podcast or show (`show`).
    Show,
    /// An audiobook (`audiobook`).
    Audiobook,
    /// A playlist (`playlist`).
    Playlist,
    /// An album (`album`).
    Album,
    /// An artist's card (`artist`).
    Artist,
    /// Anything else, and the default when `type` is missing or unknown (`other`).
    #[default]
    #[serde(other)]
    Other,
}

impl ItemType {
    /// Number of distinct types (rows of the model's type table).
    pub const COUNT: usize = 8;

    /// Row of this type in the model's type table.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The type called `name` (lower-case, as in JSON); [`ItemType::Other`] for an unknown
    /// name, as in a page.
    pub fn from_name(name: &str) -> ItemType {
        [
            ItemType::Track,
            ItemType::Episode,
            ItemType::Show,
            ItemType::Audiobook,
            ItemType::Playlist,
            ItemType::Album,
            ItemType::Artist,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
        .unwrap_or(ItemType::Other)
    }

    /// Lower-case name as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Track => "track",
            ItemType::Episode => "episode",
            ItemType::Show => "show",
            ItemType::Audiobook => "audiobook",
            ItemType::Playlist => "playlist",
            ItemType::Album => "album",
            ItemType::Artist => "artist",
            ItemType::Other => "other",
        }
    }
}

impl HomePage {
    /// Parses a page from JSON (camelCase fields).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "page", message: e.to_string() })
    }

    /// Total number of candidates over all shelves, duplicates included.
    pub fn item_count(&self) -> usize {
        self.shelves.iter().map(|s| s.items.len()).sum()
    }

    /// Iterates `(shelf index, rank in shelf, item)` in server order.
    pub fn items(&self) -> impl Iterator<Item = (usize, usize, &Item)> {
        self.shelves
            .iter()
            .enumerate()
            .flat_map(|(s, shelf)| shelf.items.iter().enumerate().map(move |(r, it)| (s, r, it)))
    }

    /// Checks the page against the contract and against the model's embedding dimension.
    ///
    /// Refused: no shelves, more than [`MAX_PAGE_ITEMS`] items, empty or over-long ids, duplicate
    /// shelf ids, an item twice in one shelf, `embeddingDim` other than `expected_dim`, an
    /// embedding of the wrong length, and NaN or infinite numbers. An item in several shelves is
    /// allowed (that is what dedup is for); an empty shelf is allowed and left as it is.
    pub fn validate(&self, expected_dim: usize) -> Result<()> {
        if self.shelves.is_empty() {
            return Err(Error::InvalidPage("the page has no shelves".into()));
        }
        let total = self.item_count();
        if total > MAX_PAGE_ITEMS {
            return Err(Error::InvalidPage(format!(
                "the page has {total} items, at most {MAX_PAGE_ITEMS} are supported"
            )));
        }
        if self.embedding_dim != expected_dim {
            return Err(Error::EmbeddingDim {
                expected: expected_dim,
                got: self.embedding_dim,
                context: "the page's embeddingDim".into(),
            });
        }
        check_id(&self.page_id, || "pageId".into(), true)?;
        let mut shelf_ids = HashSet::with_capacity_and_hasher(self.shelves.len(), FastHash::default());
        for (s, shelf) in self.shelves.iter().enumerate() {
            let at = || format!("shelf {s} ('{}')", shelf.id);
            check_id(&shelf.id, || format!("shelf {s}: id"), false)?;
            if !shelf_ids.insert(shelf.id.as_str()) {
                return Err(Error::InvalidPage(format!("{}: duplicate shelf id", at())));
            }
            if let (Some(min), Some(max)) = (shelf.min_items, shelf.max_items) {
                if min > max {
                    return Err(Error::InvalidPage(format!("{}: minItems {min} is greater than maxItems {max}", at())));
                }
            }
            let mut item_ids = HashSet::with_capacity_and_hasher(shelf.items.len(), FastHash::default());
            for (r, item) in shelf.items.iter().enumerate() {
                let at = || format!("{} item {r} ('{}')", at(), item.id);
                check_id(&item.id, || format!("{}: id", at()), false)?;
                if !item_ids.insert(item.id.as_str()) {
                    return Err(Error::InvalidPage(format!("{}: the id appears twice in this shelf", at())));
                }
                if item.embedding.len() != expected_dim {
                    return Err(Error::EmbeddingDim {
                        expected: expected_dim,
                        got: item.embedding.len(),
                        context: at(),
                    });
                }
                if let Some(i) = item.embedding.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidPage(format!(
                        "{}: embedding[{i}] is {}, expected a finite number",
                        at(),
                        item.embedding[i]
                    )));
                }
                if let Some(v) = item.server_score.filter(|v| !v.is_finite()) {
                    return Err(Error::InvalidPage(format!("{}: serverScore is {v}, expected a finite number", at())));
                }
                if let Some(v) = item.duration_ms.filter(|v| !v.is_finite() || *v < 0.0) {
                    return Err(Error::InvalidPage(format!(
                        "{}: durationMs is {v}, expected a finite number >= 0",
                        at()
                    )));
                }
                if let Some(a) = &item.artist_id {
                    check_id(a, || format!("{}: artistId", at()), true)?;
                }
                if let Some(neighbors) = &item.neighbors {
                    check_neighbors(neighbors, &at)?;
                }
            }
        }
        Ok(())
    }
}

fn check_neighbors(neighbors: &[Neighbor], at: &dyn Fn() -> String) -> Result<()> {
    if neighbors.len() > MAX_NEIGHBORS {
        return Err(Error::InvalidPage(format!(
            "{}: {} neighbors, at most {MAX_NEIGHBORS} are allowed",
            at(),
            neighbors.len()
        )));
    }
    for (k, n) in neighbors.iter().enumerate() {
        check_id(&n.id, || format!("{}: neighbors[{k}].id", at()), false)?;
        if neighbors[..k].iter().any(|m| m.id == n.id) {
            return Err(Error::InvalidPage(format!("{}: neighbors[{k}].id '{}' appears twice", at(), n.id)));
        }
        if !(0.0..=1.0).contains(&n.weight) {
            return Err(Error::InvalidPage(format!(
                "{}: neighbors[{k}].weight is {}, expected a number in [0, 1]",
                at(),
                n.weight
            )));
        }
    }
    Ok(())
}

/// `what` names the id in the error; it is only built for an invalid id (validation runs on
/// every rerank, over every item).
fn check_id(id: &str, what: impl FnOnce() -> String, may_be_empty: bool) -> Result<()> {
    if id.is_empty() && !may_be_empty {
        return Err(Error::InvalidPage(format!("{} is empty", what())));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::InvalidPage(format!(
            "{} is {} bytes long, at most {MAX_ID_LEN} are allowed",
            what(),
            id.len()
        )));
    }
    Ok(())
}
