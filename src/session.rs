//! Session state: a bounded ring buffer of the last events and a cache of item embeddings.
//!
//! Events are held in time order, oldest first; when more than `capacity` are held the oldest
//! go. An event's item embedding comes from the event itself or, failing that, from the cache,
//! which is filled with the items of every page the ranker sees. An event whose item is not yet
//! known is kept and resolved later (its item may appear on the next page); until then it takes
//! no part in ranking. Nothing here leaves memory; [`SessionState::forget`] wipes all of it.
//!
//! With the mid-term context on ([`SessionState::set_mid_term_capacity`]), an ended session's
//! resolved events are kept as *earlier events* (the latest `capacity`, none older than the TTL)
//! and the model reads them before the session's own, as `homerank midterm` measures offline.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::event::{Action, SessionEvent};
use crate::page::{HomePage, ItemType};
use crate::profile::StoredEvent;

/// Default number of item embeddings cached.
pub const DEFAULT_CACHE_ITEMS: usize = 8_192;

/// What the cache knows about an item.
#[derive(Debug, Clone)]
pub(crate) struct KnownItem {
    pub embedding: Arc<[f32]>,
    pub item_type: ItemType,
    /// From the page that listed it (`artistId`); the similarity features match artists.
    pub artist: Option<Arc<str>>,
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
    event_artist: Option<Arc<str>>,
}

/// Bounded, in-memory session state.
#[derive(Debug, Clone)]
pub struct SessionState {
    max_events: usize,
    events: VecDeque<HeldEvent>,
    cache: ItemCache,
    /// Events of ended sessions, oldest first (resolved, with timestamps).
    earlier: VecDeque<HeldEvent>,
    /// Most earlier events kept; 0: the mid-term context is off.
    earlier_capacity: usize,
    /// How long an earlier event is kept, in milliseconds.
    earlier_ttl_ms: f64,
}

impl SessionState {
    /// Holds up to `max_events` events and `cache_items` item embeddings.
    pub fn new(max_events: usize, cache_items: usize) -> Self {
        SessionState {
            max_events: max_events.max(1),
            events: VecDeque::with_capacity(max_events.max(1)),
            cache: ItemCache::new(cache_items.max(1)),
            earlier: VecDeque::new(),
            earlier_capacity: 0,
            earlier_ttl_ms: 0.0,
        }
    }

    /// Keeps up to `capacity` events of ended sessions, each for `ttl_ms`, as context (0: off;
    /// what exceeds the new capacity is wiped, oldest first).
    pub fn set_mid_term(&mut self, capacity: usize, ttl_ms: f64) {
        self.earlier_capacity = capacity;
        self.earlier_ttl_ms = ttl_ms;
        self.trim_earlier(capacity);
    }

    /// How long an earlier event is kept, in milliseconds.
    pub fn mid_term_ttl_ms(&self) -> f64 {
        self.earlier_ttl_ms
    }

    /// The most earlier events kept (0: the mid-term context is off).
    pub fn mid_term_capacity(&self) -> usize {
        self.earlier_capacity
    }

    /// Earlier events held.
    pub fn mid_term_len(&self) -> usize {
        self.earlier.len()
    }

    /// Ends the session: with the mid-term context on, its resolved, timestamped events join the
    /// earlier events (the latest `capacity` kept); earlier events older than `now_ms − ttl`
    /// go; the session starts empty. Everything dropped is wiped, as by [`SessionState::forget`].
    pub fn end_session(&mut self, now_ms: f64) {
        let ttl_ms = self.earlier_ttl_ms;
        let mut dropped = Vec::new();
        for ev in std::mem::take(&mut self.events) {
            if self.earlier_capacity > 0 && ev.item.is_some() && ev.timestamp_ms.is_some() {
                self.earlier.push_back(ev);
            } else {
                dropped.push(ev);
            }
        }
        self.earlier
            .make_contiguous()
            .sort_by(|a, b| a.timestamp_ms.unwrap_or(0.0).total_cmp(&b.timestamp_ms.unwrap_or(0.0)));
        let cutoff = now_ms - ttl_ms;
        while self.earlier.front().is_some_and(|e| !e.timestamp_ms.is_some_and(|t| t >= cutoff)) {
            dropped.extend(self.earlier.pop_front());
        }
        wipe_events(dropped);
        self.trim_earlier(self.earlier_capacity);
    }

    fn trim_earlier(&mut self, capacity: usize) {
        let excess = self.earlier.len().saturating_sub(capacity);
        wipe_events(self.earlier.drain(..excess).collect());
    }

    /// The earlier events, oldest first.
    pub(crate) fn earlier_events(&self) -> impl Iterator<Item = &HeldEvent> {
        self.earlier.iter()
    }

    /// Replaces the earlier events with a restored profile's, oldest first; the latest
    /// `capacity` are kept.
    pub(crate) fn restore_earlier(&mut self, events: Vec<StoredEvent>) {
        wipe_events(std::mem::take(&mut self.earlier).into());
        for e in events {
            let artist: Option<Arc<str>> = e.artist_id.as_deref().map(Arc::from);
            let item =
                KnownItem { embedding: e.embedding.as_slice().into(), item_type: e.item_type, artist: artist.clone() };
            self.earlier.push_back(HeldEvent {
                item_id: e.item_id,
                action: e.action,
                ms_played: e.ms_played,
                timestamp_ms: Some(e.timestamp_ms),
                item: Some(item),
                event_type: Some(e.item_type),
                event_artist: artist,
            });
        }
        self.trim_earlier(self.earlier_capacity);
    }

    /// What the model reads: the earlier events, then the session's, oldest first.
    pub(crate) fn context(&self) -> impl DoubleEndedIterator<Item = &HeldEvent> {
        self.earlier.iter().chain(self.events.iter())
    }

    /// Records an already validated event.
    pub(crate) fn push(&mut self, event: &SessionEvent) {
        let event_artist: Option<Arc<str>> = event.artist_id.as_deref().map(Arc::from);
        let item = match &event.embedding {
            Some(e) => {
                let known = KnownItem {
                    embedding: e.as_slice().into(),
                    item_type: event.item_type.unwrap_or_default(),
                    artist: event_artist
                        .clone()
                        .or_else(|| self.cache.get(&event.item_id).and_then(|k| k.artist.clone())),
                };
                self.cache.insert(&event.item_id, known.clone());
                Some(known)
            }
            None => self.cache.get(&event.item_id).map(|k| KnownItem {
                item_type: event.item_type.unwrap_or(k.item_type),
                artist: event_artist.clone().or_else(|| k.artist.clone()),
                ..k.clone()
            }),
        };
        let held = HeldEvent {
            item_id: event.item_id.clone(),
            action: event.action,
            ms_played: event.ms_played,
            timestamp_ms: event.timestamp_ms,
            item,
            event_type: event.item_type,
            event_artist,
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
            match self.cache.get_mut(&item.id) {
                // An item first known from an event's embedding learns its artist from the page.
                Some(known) => {
                    if let Some(artist) = &item.artist_id {
                        known.artist.get_or_insert_with(|| Arc::from(artist.as_str()));
                    }
                }
                None => self.cache.insert(
                    &item.id,
                    KnownItem {
                        embedding: item.embedding.as_slice().into(),
                        item_type: item.item_type,
                        artist: item.artist_id.as_deref().map(Arc::from),
                    },
                ),
            }
        }
        for ev in self.events.iter_mut() {
            let Some(k) = self.cache.get(&ev.item_id) else { continue };
            match ev.item.as_mut() {
                Some(item) => {
                    if item.artist.is_none() {
                        item.artist.clone_from(&k.artist);
                    }
                }
                None => {
                    ev.item = Some(KnownItem {
                        item_type: ev.event_type.unwrap_or(k.item_type),
                        artist: ev.event_artist.clone().or_else(|| k.artist.clone()),
                        ..k.clone()
                    })
                }
            }
        }
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

    /// Drops every event and every cached embedding, overwriting with zeros what it drops: item
    /// ids, embeddings, artists and the buffers that held them (so that the bytes do not stay
    /// readable in memory, e.g. a wasm module's linear memory, after the call).
    pub fn forget(&mut self) {
        let map = std::mem::take(&mut self.cache.map);
        let order = std::mem::take(&mut self.cache.order);
        self.cache.clear();
        let mut wipe = wipe::Wiper::default();
        wipe.events(std::mem::take(&mut self.earlier).into());
        wipe.events(std::mem::take(&mut self.events).into());
        let mut entries: Vec<(String, KnownItem)> = map.into_iter().collect();
        for (id, item) in entries.drain(..) {
            wipe.string(id);
            wipe.known(item);
        }
        wipe.vec(entries);
        let mut order = Vec::from(order);
        for id in order.drain(..) {
            wipe.string(id);
        }
        wipe.vec(order);
        wipe.finish();
    }
}

/// Overwrites dropped events: their ids, embeddings and artists (see [`SessionState::forget`]).
fn wipe_events(events: Vec<HeldEvent>) {
    if events.is_empty() {
        return;
    }
    let mut wipe = wipe::Wiper::default();
    wipe.events(events);
    wipe.finish();
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
        ItemCache { capacity, map: HashMap::default(), order: VecDeque::new() }
    }

    fn get(&self, id: &str) -> Option<&KnownItem> {
        self.map.get(id)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut KnownItem> {
        self.map.get_mut(id)
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
        self.map = HashMap::default();
        self.order = VecDeque::new();
    }
}

/// Overwriting what [`SessionState::forget`] drops. Embeddings and artists are shared (`Arc`)
/// between events and the cache: each is wiped once the last of its holders here is gone (one
/// still held elsewhere, e.g. by a rerank in flight, is left to that holder).
mod wipe {
    use std::mem::{size_of_val, MaybeUninit};
    use std::sync::atomic::{compiler_fence, Ordering};
    use std::sync::Arc;

    use super::{HeldEvent, KnownItem};

    #[derive(Default)]
    pub(super) struct Wiper {
        embeddings: Vec<Arc<[f32]>>,
        artists: Vec<Arc<str>>,
    }

    impl Wiper {
        pub fn string(&mut self, s: String) {
            let mut bytes = s.into_bytes();
            bytes.clear();
            spare(&mut bytes);
        }

        /// Zeroes a vector's whole allocation after dropping its elements (which own nothing
        /// by then).
        pub fn vec<T>(&mut self, mut v: Vec<T>) {
            v.clear();
            spare(&mut v);
        }

        pub fn known(&mut self, item: KnownItem) {
            self.embeddings.push(item.embedding);
            self.artists.extend(item.artist);
        }

        /// Each event's id, item and artist, then the vector's allocation.
        pub fn events(&mut self, mut events: Vec<HeldEvent>) {
            for ev in &mut events {
                self.string(std::mem::take(&mut ev.item_id));
                if let Some(item) = ev.item.take() {
                    self.known(item);
                }
                self.artists.extend(ev.event_artist.take());
            }
            self.vec(events);
        }

        pub fn finish(mut self) {
            // Drop duplicates first so that each allocation's last holder is the one in the list.
            self.embeddings.sort_by_key(|a| a.as_ptr() as usize);
            self.embeddings.dedup_by(|a, b| Arc::ptr_eq(a, b));
            for mut e in self.embeddings.drain(..) {
                if let Some(values) = Arc::get_mut(&mut e) {
                    for v in values.iter_mut() {
                        // SAFETY: a valid, exclusive reference.
                        unsafe { std::ptr::write_volatile(v, 0.0) };
                    }
                }
            }
            self.artists.sort_by_key(|a| a.as_ptr() as usize);
            self.artists.dedup_by(|a, b| Arc::ptr_eq(a, b));
            for mut a in self.artists.drain(..) {
                if let Some(s) = Arc::get_mut(&mut a) {
                    // SAFETY: zero bytes are valid UTF-8; the reference is exclusive.
                    for b in unsafe { s.as_bytes_mut() } {
                        unsafe { std::ptr::write_volatile(b, 0) };
                    }
                }
            }
            let (e, a) = (std::mem::take(&mut self.embeddings), std::mem::take(&mut self.artists));
            self.vec(e);
            self.vec(a);
            compiler_fence(Ordering::SeqCst);
        }
    }

    fn spare<T>(v: &mut Vec<T>) {
        let spare: &mut [MaybeUninit<T>] = v.spare_capacity_mut();
        let n = size_of_val(spare);
        let p = spare.as_mut_ptr().cast::<u8>();
        for i in 0..n {
            // SAFETY: within the vector's allocation, which holds no live element.
            unsafe { p.add(i).write_volatile(0) };
        }
        compiler_fence(Ordering::SeqCst);
    }
}
