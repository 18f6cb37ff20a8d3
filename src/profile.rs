//! The mid-term profile as bytes, for a host that keeps it across sessions: what
//! [`crate::HomeRanker::export_profile`] writes and [`crate::HomeRanker::import_profile`] reads.
//! It holds the earlier sessions' events the ranker keeps (see `session`): item ids, actions,
//! play lengths, times, embeddings, types and artists — the listener's own data, for their
//! device (and for `exportProfile()`, their copy); the library never sends it anywhere.
//!
//! ```text
//! "HRMP" | version: u32 LE (1) | payload length: u32 LE | payload (UTF-8 JSON) | SHA-256 of all before it (32 bytes)
//! payload = { "savedAtMs", "embeddingDim", "events": [{ itemId, action, msPlayed?, timestampMs,
//!             embedding, type, artistId? }] }
//! ```
//!
//! A blob that is not one (wrong magic, version, length or checksum, bad JSON, another
//! embedding width) is refused with [`Error::InvalidProfile`] naming why; the host drops it and
//! the ranker goes on without a profile. Events older than the TTL are left out when read.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::event::Action;
use crate::page::ItemType;

/// The format's first bytes.
pub const PROFILE_MAGIC: [u8; 4] = *b"HRMP";
/// The format's version.
pub const PROFILE_VERSION: u32 = 1;
/// Earlier events kept by default when the mid-term context is on (`homerank midterm`
/// measures 16 and 48).
pub const DEFAULT_MID_TERM_EVENTS: usize = 48;
/// How long an earlier event is kept by default: 7 days.
pub const DEFAULT_MID_TERM_TTL_MS: f64 = 7.0 * 24.0 * 3_600_000.0;
/// The largest profile read (a guard against a host handing over something else).
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

const HEADER: usize = 12;
const CHECKSUM: usize = 32;

/// One earlier event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredEvent {
    /// The item's id.
    pub item_id: String,
    /// What the listener did.
    pub action: Action,
    /// How long it played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_played: Option<f64>,
    /// When.
    pub timestamp_ms: f64,
    /// The item's embedding (the model's width).
    pub embedding: Vec<f32>,
    /// The item's type.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// The item's artist, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Payload {
    saved_at_ms: f64,
    embedding_dim: usize,
    events: Vec<StoredEvent>,
}

/// The profile bytes of `events` (embeddings `embedding_dim` wide), saved at `saved_at_ms`.
pub fn encode_profile(events: Vec<StoredEvent>, embedding_dim: usize, saved_at_ms: f64) -> Vec<u8> {
    let payload = serde_json::to_vec(&Payload { saved_at_ms, embedding_dim, events }).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + payload.len() + CHECKSUM);
    out.extend_from_slice(&PROFILE_MAGIC);
    out.extend_from_slice(&PROFILE_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Reads profile bytes for a model of `embedding_dim`: the events no older than
/// `now_ms − ttl_ms`, oldest first, or why the bytes are not a usable profile.
pub fn decode_profile(bytes: &[u8], embedding_dim: usize, now_ms: f64, ttl_ms: f64) -> Result<Vec<StoredEvent>> {
    let bad = |why: String| Error::InvalidProfile(why);
    if bytes.len() > MAX_PROFILE_BYTES {
        return Err(bad(format!("{} bytes, more than the {MAX_PROFILE_BYTES} a profile may have", bytes.len())));
    }
    if bytes.len() < HEADER + CHECKSUM || bytes[..4] != PROFILE_MAGIC {
        return Err(bad("not a homerank profile (no HRMP header)".into()));
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != PROFILE_VERSION {
        return Err(bad(format!("format version {version}, this library reads {PROFILE_VERSION}")));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    if HEADER.checked_add(len).and_then(|n| n.checked_add(CHECKSUM)) != Some(bytes.len()) {
        return Err(bad(format!("truncated or padded: a {len}-byte payload in {} bytes", bytes.len())));
    }
    let (body, checksum) = bytes.split_at(HEADER + len);
    if Sha256::digest(body).as_slice() != checksum {
        return Err(bad("checksum mismatch (the stored bytes changed)".into()));
    }
    let payload: Payload =
        serde_json::from_slice(&body[HEADER..]).map_err(|e| bad(format!("unreadable payload: {e}")))?;
    if payload.embedding_dim != embedding_dim {
        return Err(bad(format!(
            "saved for embeddings of width {}, the model reads {embedding_dim}",
            payload.embedding_dim
        )));
    }
    let cutoff = now_ms - ttl_ms;
    let mut events: Vec<StoredEvent> = payload
        .events
        .into_iter()
        .filter(|e| e.timestamp_ms.is_finite() && e.timestamp_ms >= cutoff)
        .filter(|e| e.embedding.len() == embedding_dim && e.embedding.iter().all(|v| v.is_finite()))
        .filter(|e| !e.item_id.is_empty() && e.item_id.len() <= crate::page::MAX_ID_LEN)
        .collect();
    events.sort_by(|a, b| a.timestamp_ms.total_cmp(&b.timestamp_ms));
    Ok(events)
}

/// Where a host keeps the profile bytes between runs (a file, a key-value store, the platform's
/// preferences). [`crate::HomeRanker::restore_profile`] and [`crate::HomeRanker::save_profile`]
/// use it; the npm package's stores (IndexedDB, a file in Node) are the same three calls.
pub trait ProfileStore {
    /// The bytes stored under `key`, if any.
    fn get(&mut self, key: &str) -> std::io::Result<Option<Vec<u8>>>;
    /// Stores `bytes` under `key`, replacing what was there.
    fn set(&mut self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Deletes what is stored under `key` (nothing stored is not an error).
    fn delete(&mut self, key: &str) -> std::io::Result<()>;
}

/// A [`ProfileStore`] in memory (tests, or a host that persists it itself).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore(pub std::collections::HashMap<String, Vec<u8>>);

impl ProfileStore for MemoryStore {
    fn get(&mut self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }
    fn set(&mut self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.0.insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn delete(&mut self, key: &str) -> std::io::Result<()> {
        self.0.remove(key);
        Ok(())
    }
}

/// What [`crate::HomeRanker::restore_profile`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Restored {
    /// Nothing was stored under the key.
    Nothing,
    /// This many earlier events were restored.
    Events(usize),
    /// The stored bytes were not a usable profile (the reason); they were deleted.
    Dropped(String),
}

impl crate::HomeRanker {
    /// Turns the mid-term context on: up to `events` events of ended sessions, none older than
    /// `ttl_ms`, are read before each session's own (0: off, and the earlier events are wiped).
    /// Off by default. The defaults the npm package uses are [`DEFAULT_MID_TERM_EVENTS`] and
    /// [`DEFAULT_MID_TERM_TTL_MS`].
    pub fn set_mid_term(&mut self, events: usize, ttl_ms: f64) {
        self.session_mut().set_mid_term(events, ttl_ms);
    }

    /// Ends the listening session at `now_ms` (the host's clock): with the mid-term context on,
    /// the session's events become earlier events; the next session starts empty.
    pub fn end_session(&mut self, now_ms: f64) {
        self.session_mut().end_session(now_ms);
    }

    /// The earlier events as profile bytes (see the module doc), for the host to store, or for
    /// the listener to see what is kept.
    pub fn export_profile(&self, now_ms: f64) -> Vec<u8> {
        let events = self
            .session()
            .earlier_events()
            .filter_map(|e| {
                let item = e.item.as_ref()?;
                Some(StoredEvent {
                    item_id: e.item_id.clone(),
                    action: e.action,
                    ms_played: e.ms_played,
                    timestamp_ms: e.timestamp_ms?,
                    embedding: item.embedding.to_vec(),
                    item_type: item.item_type,
                    artist_id: item.artist.as_deref().map(str::to_owned),
                })
            })
            .collect();
        encode_profile(events, self.config().embedding_dim, now_ms)
    }

    /// Restores the profile stored under `key`: a blob that is not a usable profile is deleted
    /// and reported, never an error; only the store's own failure is.
    pub fn restore_profile(
        &mut self,
        store: &mut dyn ProfileStore,
        key: &str,
        now_ms: f64,
    ) -> std::io::Result<Restored> {
        let Some(bytes) = store.get(key)? else { return Ok(Restored::Nothing) };
        match self.import_profile(&bytes, now_ms) {
            Ok(n) => Ok(Restored::Events(n)),
            Err(e) => {
                store.delete(key)?;
                Ok(Restored::Dropped(e.to_string()))
            }
        }
    }

    /// Ends the session at `now_ms` and saves the profile under `key`.
    pub fn save_profile(&mut self, store: &mut dyn ProfileStore, key: &str, now_ms: f64) -> std::io::Result<()> {
        self.end_session(now_ms);
        store.set(key, &self.export_profile(now_ms))
    }

    /// Replaces the earlier events with those of profile bytes, dropping any older than the TTL
    /// at `now_ms`; returns how many are kept (at most the mid-term capacity: 0 while it is off).
    /// Bytes that are not a usable profile are an [`Error::InvalidProfile`] and change nothing.
    pub fn import_profile(&mut self, bytes: &[u8], now_ms: f64) -> Result<usize> {
        let ttl = self.session().mid_term_ttl_ms();
        let events = decode_profile(bytes, self.config().embedding_dim, now_ms, ttl)?;
        self.session_mut().restore_earlier(events);
        Ok(self.session().mid_term_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(t: f64) -> StoredEvent {
        StoredEvent {
            item_id: format!("track:{t}"),
            action: Action::Complete,
            ms_played: Some(180_000.0),
            timestamp_ms: t,
            embedding: vec![0.5; 4],
            item_type: ItemType::Track,
            artist_id: Some("artist:1".into()),
        }
    }

    #[test]
    fn a_profile_round_trips_and_expired_events_are_left_out() {
        let bytes = encode_profile(vec![event(2_000.0), event(1_000.0), event(9_000.0)], 4, 10_000.0);
        assert_eq!(&bytes[..4], b"HRMP");
        let all = decode_profile(&bytes, 4, 10_000.0, 1e9).unwrap();
        assert_eq!(all.iter().map(|e| e.timestamp_ms).collect::<Vec<_>>(), [1_000.0, 2_000.0, 9_000.0]);
        assert_eq!(all[0], event(1_000.0));
        let fresh = decode_profile(&bytes, 4, 10_000.0, 8_500.0).unwrap();
        assert_eq!(fresh.iter().map(|e| e.timestamp_ms).collect::<Vec<_>>(), [2_000.0, 9_000.0]);
        assert!(decode_profile(&bytes, 4, 1e12, 1_000.0).unwrap().is_empty(), "all expired: an empty profile");
    }

    #[test]
    fn corrupt_foreign_and_mismatched_blobs_are_refused_with_the_reason() {
        let bytes = encode_profile(vec![event(1.0)], 4, 2.0);
        let reason = |b: &[u8], dim| decode_profile(b, dim, 2.0, 1e9).unwrap_err().to_string();
        assert!(reason(b"{\"events\": []}", 4).contains("not a homerank profile"));
        assert!(reason(&[], 4).contains("not a homerank profile"));
        let mut flipped = bytes.clone();
        flipped[HEADER + 3] ^= 1;
        assert!(reason(&flipped, 4).contains("checksum"));
        assert!(reason(&bytes[..bytes.len() - 1], 4).contains("truncated"));
        let mut version = bytes.clone();
        version[4] = 9;
        assert!(reason(&version, 4).contains("version 9"));
        assert!(reason(&bytes, 8).contains("width 4"));
        let mut huge_len = bytes.clone();
        huge_len[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(reason(&huge_len, 4).contains("truncated"));
        assert_eq!(Error::InvalidProfile(String::new()).code(), "INVALID_PROFILE");
    }
}
