//! homerank: an on-device reranker for a streaming app's Home page.
//!
//! The server sends Home as shelves of candidates in its own order; HR-S, a small quantized
//! transformer, re-orders them from in-session signals (plays, skips, dwell, likes) that never
//! leave the device. The library makes no network requests.
//!
//! # Brief overview
//!
//! ```text
//! HomePage ──┐
//!            ├─> validate ─> Features ─> CpuModel (HR-S forward) ─> compose ─> RerankResult
//! events ────┘   (SessionState: ring buffer of events + item-embedding cache)
//! ```
//!
//! * [`HomeRanker`] owns a model and a session: `observe` events, `rerank` pages, `forget`.
//! * [`HomePage`], [`SessionEvent`], [`RerankOptions`], [`RerankResult`] are the JSON contract.
//! * [`Error`] is the one error type; its messages name the field to fix.
//!
//! ```no_run
//! # fn main() -> homerank::Result<()> {
//! use homerank::{Action, HomePage, HomeRanker, RerankOptions, SessionEvent};
//! let mut ranker = HomeRanker::from_bytes(&std::fs::read("models/homerank-s.gguf").unwrap())?;
//! let page = HomePage::from_json(&std::fs::read_to_string("www/example-page.json").unwrap())?;
//! ranker.observe(&SessionEvent::new("track:1", Action::Skip).with_ms_played(3_000.0))?;
//! let result = ranker.rerank(&page, &RerankOptions::default())?;
//! assert!(result.fallback.is_none());
//! # Ok(()) }
//! ```
//!
//! # Module map (the data flow)
//!
//! `page` (contract, validation) → `event` + `session` (events, cache) → `features` (tokens) →
//! `model` (HR-S config, GGUF file, CPU engine; the candle model for training) → `compose`
//! (layout rules) → `result`;
//! `ranker` ties them together; `manifest` describes shipped model files; `backend` and, with the
//! `gpu` feature, `gpu` (the same forward on wgpu) choose and run the GPU.

mod backend;
mod compose;
#[cfg(not(target_arch = "wasm32"))]
pub mod data;
pub mod dataset;
pub mod embedding;
mod error;
#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod eval;
mod event;
pub mod features;
pub mod feedback;
// The GPU backend, or its stand-in with the same names when the `gpu` feature is off.
#[cfg_attr(feature = "gpu", path = "gpu/mod.rs")]
#[cfg_attr(not(feature = "gpu"), path = "gpu/disabled.rs")]
pub mod gpu;
mod manifest;
pub mod model;
mod options;
mod page;
mod ranker;
mod result;
pub mod rng;
mod session;
pub mod sim;
#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod train;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use backend::{AutoChoice, Backend};
pub use compose::compose;
pub use error::{Error, Result};
pub use event::{Action, SessionEvent};
pub use manifest::{Manifest, ManifestEntry};
pub use options::RerankOptions;
pub use page::{HomePage, Item, ItemType, Neighbor, Shelf, MAX_NEIGHBORS, MAX_PAGE_ITEMS};
pub use ranker::{HomeRanker, PendingRerank, RankerStats, Started, MAX_EVENTS_PER_CALL};
pub use result::{ItemScore, RemovedItem, RerankResult, ShelfResult};
pub use session::SessionState;
