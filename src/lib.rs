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
//! # What is public
//!
//! * The runtime, what a player embeds: [`HomeRanker`] and the JSON contract at the crate root
//!   ([`HomePage`] with [`Shelf`], [`Item`], [`Neighbor`]; [`SessionEvent`]; [`RerankOptions`];
//!   [`RerankResult`]), [`Backend`] and [`GpuSettings`], [`Manifest`] for shipped model files,
//!   [`Error`].
//! * [`experiment`]: experiments in the ranker ([`HomeRanker::set_experiment`]): the
//!   documented assignment hash, holdbacks, the kill switch, [`Exposure`] records; its types are
//!   also at the crate root.
//! * [`model`]: model files ([`model::ModelFile`], [`model::write_model`]) and the architecture
//!   ([`model::HrsConfig`]).
//! * Offline, native only: [`data`] (log adapters into a [`dataset::Dataset`]), [`sim`] (the
//!   listener simulator), and with the `train` feature `eval` and `train`.
//!
//! Everything else is internal; [`testing`] re-exports what the project's own tests, benches and
//! fuzz targets reach into, and is not part of the API.
//!
//! # Module map (the data flow)
//!
//! `page` (contract, validation) → `event` + `session` (events, cache) → `features` (tokens) →
//! `model` (HR-S config, GGUF file, CPU engine; the candle model for training) → `feedback` and
//! `compose` (layout rules) → `result`; `ranker` ties them together; `manifest` describes shipped
//! model files; `backend` and `gpu` (the same forward on wgpu, or a stand-in without the `gpu`
//! feature) choose and run the GPU; `simd` is the one portable 128-bit vector layer the CPU kernels
//! and the similarity features are written against. docs/ARCHITECTURE.md has the longer tour.

#![deny(missing_docs)]

mod backend;
mod compose;
mod error;
mod event;
pub mod experiment;
mod features;
mod feedback;
// The GPU backend, or its stand-in with the same names when the `gpu` feature is off.
#[cfg_attr(feature = "gpu", path = "gpu/mod.rs")]
#[cfg_attr(not(feature = "gpu"), path = "gpu/disabled.rs")]
mod gpu;
mod manifest;
pub mod model;
mod options;
mod page;
mod prepared_page;
pub mod profile;
mod ranker;
mod result;
mod session;
mod simd;

// Offline: logs, the simulator, evaluation and training. The wasm modules carry the simulator
// only when built with the `sim` feature (the demo's module).
#[cfg(not(target_arch = "wasm32"))]
pub mod data;
#[cfg(any(feature = "sim", not(target_arch = "wasm32")))]
pub mod dataset;
#[cfg(any(feature = "sim", not(target_arch = "wasm32")))]
pub mod embedding;
#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod eval;
// Parquet logs and data preparation on DataFusion / Ballista, or a stand-in without `prep`.
#[cfg(not(target_arch = "wasm32"))]
#[cfg_attr(feature = "prep", path = "prep/mod.rs")]
#[cfg_attr(not(feature = "prep"), path = "prep/disabled.rs")]
pub mod prep;
#[cfg(any(feature = "sim", not(target_arch = "wasm32")))]
pub mod rng;
#[cfg(any(feature = "sim", not(target_arch = "wasm32")))]
pub mod sim;
#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod train;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use backend::Backend;
pub use error::{Error, Result};
pub use event::{Action, SessionEvent};
pub use experiment::{
    bucket, murmur3_x86_32, unit_hash, Arm, ArmOptions, Assignment, Experiment, Exposure, BUCKETS, MAX_ARMS,
    MAX_EXPERIMENT_STRING,
};
pub use gpu::GpuSettings;
pub use manifest::{Manifest, ManifestEntry};
pub use options::RerankOptions;
pub use page::{HomePage, Item, ItemType, Neighbor, Shelf, MAX_NEIGHBORS, MAX_PAGE_ITEMS};
pub use prepared_page::{PageRef, PreparedPage};
pub use ranker::{HomeRanker, PendingRerank, RankerStats, Started, MAX_EVENTS_PER_CALL};
pub use result::{ItemScore, RemovedItem, RerankResult, ShelfResult};

/// Internals that the project's own tests, benches and fuzz targets drive directly (the feature
/// builder, the CPU and GPU engines, the session buffers, the layout rules). Not part of the API:
/// anything here may change in any release.
#[doc(hidden)]
pub mod testing {
    pub use crate::compose::compose;
    pub use crate::features::{CandidateKey, EventKey, Features, SIM_FEATURES};
    pub use crate::gpu::GpuModel;
    pub use crate::session::SessionState;
}
