//! Session state: a bounded ring buffer of the last events and a cache of item embeddings.
//!
//! Events are held in time order, oldest first; when more than `capacity` are held the oldest
//! go. An event's item embedding comes from the event itself or, failing that, from the cache,
//! which is filled with the items of every page the ranker sees. An event whose item is not yet
//! known is kept and resolved later (its item may appear on the next page); until then it takes
//! no part in ranking. Nothing here leaves memory; [`SessionState::forget`] wipes all of it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::event::{Action, SessionEvent};
use crate::page::{HomePage, ItemType};

/// Default number of item embeddings cached.
pub const DEFAULT_CACHE_ITEMS: usize = 8_192;

/// What the cache knows about an item.
#[derive(Debug, Clone)]
pub(crate) struct KnownItem {
    pub embedding: Arc<[f32]>,
    pub item_type: ItemType,
}

/// An event as held: the contract fields the model reads, and the item once resolved.
#[derive(Debug, Clone)]
pub(crate) struct HeldEvent {
    pub item_id: String,
    pub action: Action,
    pub ms_played: Option<f64>,
    pub timestamp_ms: Option<f64>,
    pub item: Option<KnownItem>,
    event_type: Option<ItemType>,
}

/// Bounded, in-memory session state.
#[derive(Debug, Clone)]
pub struct SessionState {
    max_events: usize,
    events: VecDeque<HeldEvent>,
    cache: ItemCache,
}

impl SessionState {
    /// Holds up to `max_events` events and `cache_items` item embeddings.
    pub fn new(max_events: usize, cache_items: usize) -> Self {
        SessionState {
            max_events: max_events.max(1),
            events: VecDeque::with_capacity(max_events.max(1)),
            cache: ItemCache::new(cache_items.max(1)),
        }
    }

    /// Records an already validated event.
    pub(crate) fn push(&mut self, event: &SessionEvent) {
        let item = match &event.embedding {
            Some(e) => {
                let known =
                    KnownItem { embedding: e.as_slice().into(), item_type: event.item_type.unwrap_or_default() };
                self.cache.insert(&event.item_id, known.clone());
                Some(known)
            }
            None => self
                .cache
                .get(&event.item_id)
                .map(|k| KnownItem { item_type: event.item_type.unwrap_or(k.item_type), ..k.clone() }),
        };
        let held = HeldEvent {
            item_id: event.item_id.clone(),
            action: event.action,
            ms_played: event.ms_played,
            timestamp_ms: event.timestamp_ms,
            item,
            event_type: event.item_type,
        };
        // Late events (an older timestamp than the newest held) go to their place in time;
        // events without a timestamp count as "now".
        let pos = match held.timestamp_ms {
            Some(t) => self.events.iter().rposition(|e| e.timestamp_ms.is_none_or(|et| et <= t)).map_or(0, |p| p + 1),
            None => self.events.len(),
        };
        self.events.insert(pos, held);
        while self.events.len() > self.max_events {
            self.events.pop_front();
        }
    }

    /// Learns the embeddings of a page's items and resolves held events that were waiting for them.
    pub(crate) fn learn_page(&mut self, page: &HomePage) {
        for (_, _, item) in page.items() {
            if self.cache.get(&item.id).is_none() {
                self.cache.insert(
                    &item.id,
                    KnownItem { embedding: item.embedding.as_slice().into(), item_type: item.item_type },
                );
            }
        }
        for ev in self.events.iter_mut().filter(|e| e.item.is_none()) {
            if let Some(k) = self.cache.get(&ev.item_id) {
                ev.item = Some(KnownItem { item_type: ev.event_type.unwrap_or(k.item_type), ..k.clone() });
            }
        }
    }

    /// Held events, oldest first.
    pub(crate) fn events(&self) -> impl DoubleEndedIterator<Item = &HeldEvent> + ExactSizeIterator {
        self.events.iter()
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Number of held events whose item embedding is known.
    pub fn resolved_len(&self) -> usize {
        self.events.iter().filter(|e| e.item.is_some()).count()
    }

    /// Number of cached item embeddings.
    pub fn cached_items(&self) -> usize {
        self.cache.len()
    }

    /// The most events held at once.
    pub fn max_events(&self) -> usize {
        self.max_events
    }

    /// Drops every event and every cached embedding.
    pub fn forget(&mut self) {
        self.events.clear();
        self.events.shrink_to_fit();
        self.cache.clear();
    }
}

/// Insertion-ordered map with a size bound: when full, the oldest entry goes.
#[derive(Debug, Clone)]
struct ItemCache {
    capacity: usize,
    map: HashMap<String, KnownItem>,
    order: VecDeque<String>,
}

impl ItemCache {
    fn new(capacity: usize) -> Self {
        ItemCache { capacity, map: HashMap::new(), order: VecDeque::new() }
    }

    fn get(&self, id: &str) -> Option<&KnownItem> {
        self.map.get(id)
    }

    fn insert(&mut self, id: &str, item: KnownItem) {
        if self.map.insert(id.to_owned(), item).is_none() {
            self.order.push_back(id.to_owned());
        }
        while self.map.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn clear(&mut self) {
        self.map = HashMap::new();
        self.order = VecDeque::new();
    }
}
