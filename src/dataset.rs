//! Interaction logs in one shape, whatever their source: the data adapters (`data`, native) and
//! the listener simulator (`sim`) produce a [`Dataset`]; training and evaluation read it.

use std::collections::HashMap;

use crate::event::Action;
use crate::page::ItemType;

/// Everything known about the items of a dataset.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub ids: Vec<String>,
    pub types: Vec<ItemType>,
    /// Artist (or creator / show) index per item, into `artist_ids`.
    pub artists: Vec<Option<u32>>,
    pub artist_ids: Vec<String>,
    pub durations_ms: Vec<Option<f32>>,
    /// Content features per item (dataset-specific, `content_dim` values each, row-major);
    /// empty when the source has none. They become part of the server embedding.
    pub content: Vec<f32>,
    pub content_dim: usize,
    index: HashMap<String, u32>,
    artist_index: HashMap<String, u32>,
}

impl Catalog {
    /// A catalogue whose items carry `content_dim` content features each.
    pub fn new(content_dim: usize) -> Self {
        Catalog { content_dim, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

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
    pub item: u32,
    pub action: Action,
    pub ms_played: Option<f32>,
    /// Milliseconds since the epoch (or any monotone clock of the source).
    pub time_ms: f64,
}

/// A listening session, in time order.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub id: String,
    pub user: Option<String>,
    pub events: Vec<Interaction>,
}

impl Session {
    pub fn start_ms(&self) -> f64 {
        self.events.first().map_or(0.0, |e| e.time_ms)
    }
}

/// A catalogue and the sessions over it.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub name: String,
    pub catalog: Catalog,
    pub sessions: Vec<Session>,
    /// Build item embeddings from content alone (no co-occurrence part), e.g. for simulated
    /// data whose embeddings the demo computes in the browser.
    pub content_only: bool,
}

impl Dataset {
    pub fn n_events(&self) -> usize {
        self.sessions.iter().map(|s| s.events.len()).sum()
    }
}
