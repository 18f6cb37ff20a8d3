//! Interaction logs in one shape, whatever their source: the data adapters (`data`, native) and
//! the listener simulator (`sim`) produce a [`Dataset`]; training and evaluation read it.

use std::collections::HashMap;

use crate::event::Action;
use crate::page::ItemType;

/// Everything known about the items of a dataset.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Item ids as the source spells them; an item's index in this list is its `u32` id everywhere else.
    pub ids: Vec<String>,
    /// Type per item; `Other` when the source does not say.
    pub types: Vec<ItemType>,
    /// Artist (or creator / show) index per item, into `artist_ids`.
    pub artists: Vec<Option<u32>>,
    /// Artist ids as the source spells them, indexed by the values of `artists`.
    pub artist_ids: Vec<String>,
    /// Length per item in milliseconds; `None` when the source does not give it.
    pub durations_ms: Vec<Option<f32>>,
    /// Content features per item (dataset-specific, `content_dim` values each, row-major);
    /// empty when the source has none. They become part of the server embedding.
    pub content: Vec<f32>,
    /// Content features per item; 0 when the source has none.
    pub content_dim: usize,
    index: HashMap<String, u32>,
    artist_index: HashMap<String, u32>,
}

impl Catalog {
    /// A catalogue whose items carry `content_dim` content features each.
    pub fn new(content_dim: usize) -> Self {
        Catalog { content_dim, ..Default::default() }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalogue has no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The index of `id`; `None` when the item is not in the catalogue (see [`Catalog::intern`]).
    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The index of `id`, adding the item (type `Other`, zero content) when new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.to_owned());
        self.types.push(ItemType::Other);
        self.artists.push(None);
        self.durations_ms.push(None);
        self.content.extend(std::iter::repeat_n(0.0, self.content_dim));
        self.index.insert(id.to_owned(), i);
        i
    }

    /// Sets the artist of item `i`, interning the artist id.
    pub fn set_artist(&mut self, i: u32, artist: &str) {
        let next = self.artist_ids.len() as u32;
        let a = *self.artist_index.entry(artist.to_owned()).or_insert(next);
        if a == next {
            self.artist_ids.push(artist.to_owned());
        }
        self.artists[i as usize] = Some(a);
    }

    /// Content features of item `i`.
    pub fn content_of(&self, i: u32) -> &[f32] {
        let d = self.content_dim;
        &self.content[i as usize * d..(i as usize + 1) * d]
    }

    /// Mutable content features of item `i`.
    pub fn content_mut(&mut self, i: u32) -> &mut [f32] {
        let d = self.content_dim;
        &mut self.content[i as usize * d..(i as usize + 1) * d]
    }
}

/// One logged interaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// The item, an index into the dataset's [`Catalog`].
    pub item: u32,
    /// What the listener did.
    pub action: Action,
    /// Milliseconds of the item played; `None` when the source does not log play time.
    pub ms_played: Option<f32>,
    /// Milliseconds since the epoch (or any monotone clock of the source).
    pub time_ms: f64,
}

/// A listening session, in time order.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The session's id, unique within the dataset (the source's, or made up by the adapter).
    pub id: String,
    /// The listener's id; `None` when the source is anonymous (the server's ranker then has no
    /// user profile for the session).
    pub user: Option<String>,
    /// The interactions, oldest first.
    pub events: Vec<Interaction>,
}

impl Session {
    /// Time of the first interaction (same clock as [`Interaction::time_ms`]); 0 for an empty
    /// session. Evaluation orders sessions by it.
    pub fn start_ms(&self) -> f64 {
        self.events.first().map_or(0.0, |e| e.time_ms)
    }
}

/// A catalogue and the sessions over it.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// A short name for reports, e.g. `"spotify-mssd"`.
    pub name: String,
    /// The items the sessions refer to.
    pub catalog: Catalog,
    /// The sessions, in the source's order (not necessarily by time).
    pub sessions: Vec<Session>,
    /// Build item embeddings from content alone (no co-occurrence part), e.g. for simulated
    /// data whose embeddings the demo computes in the browser.
    pub content_only: bool,
}

impl Dataset {
    /// Number of interactions over all sessions.
    pub fn n_events(&self) -> usize {
        self.sessions.iter().map(|s| s.events.len()).sum()
    }
}
