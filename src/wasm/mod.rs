//! The JS API (wasm-bindgen). Bindings only: every method converts its arguments (convert.rs,
//! the one place JS values are read), calls the core, and converts the answer or the error back.
//! Errors become JS `Error`s with a `code` (one of [`crate::Error::CODES`]). alloc.rs zeroes
//! freed memory, so that what passed through a call does not stay readable in linear memory.
//! Public (but hidden from the docs) so that wasm-tests/ can drive it from Rust.

mod alloc;
mod convert;
#[cfg(feature = "sim")]
mod layout_lab;
mod prepared;
mod ranker;
#[cfg(feature = "sim")]
mod simulator;

#[cfg(feature = "sim")]
pub use layout_lab::WasmLayoutLab;
pub use prepared::WasmPreparedPage;
pub use ranker::WasmRanker;
#[cfg(feature = "sim")]
pub use simulator::WasmSimulator;
