//! The HR-S model: architecture ([`HrsConfig`]), the candle forward ([`HrsModel`]) and the model
//! file ([`ModelFile`], [`write_model`]).

mod batch;
mod config;
mod file;
mod hrs;
mod layers;

pub use batch::Batch;
pub use config::{HrsConfig, TensorKind, TensorSpec};
pub use file::{sha256_hex, write_model, ModelFile, ARCHITECTURE};
pub use hrs::{HrsModel, Masks, Precision, Weight};
