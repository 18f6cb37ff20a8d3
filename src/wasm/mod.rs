//! The JS API (wasm-bindgen). Bindings only: every method converts its arguments, calls the
//! core, and converts the answer or the error back. Errors become JS `Error`s with a `code`.
//! Public (but hidden from the docs) so that wasm-tests/ can drive it from Rust.

mod convert;
mod ranker;
mod simulator;

pub use ranker::WasmRanker;
pub use simulator::WasmSimulator;
