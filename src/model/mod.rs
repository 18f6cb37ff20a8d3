//! The HR-S model: architecture ([`HrsConfig`]), the model file ([`ModelFile`], GGUF), the
//! CPU inference engine ([`cpu::CpuModel`], what the ranker runs) and, with the `candle`
//! feature, the candle model used for training and as the reference ([`HrsModel`]).

mod config;
#[doc(hidden)]
pub mod cpu;
pub(crate) mod file;
#[doc(hidden)]
pub mod gguf;
pub(crate) mod layout;
#[doc(hidden)]
pub mod quant;

#[cfg(feature = "candle")]
mod batch;
#[cfg(feature = "candle")]
mod hrs;
#[cfg(feature = "candle")]
mod layers;

#[cfg(feature = "candle")]
pub use batch::Batch;
pub use config::{HrsConfig, TensorKind, TensorSpec};
pub use file::{encode_tensors, sha256_hex, write_model, ModelFile, RawTensor, ARCHITECTURE};
#[cfg(feature = "candle")]
pub use hrs::{HrsModel, Masks, Weight};

/// Numeric format of matmul weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 weights.
    F32,
    /// Q8_0 weights (blocks of 32 int8 with an f16 scale).
    Q8_0,
}

impl Precision {
    /// The name in stats and reports (`RankerStats::precision`): `f32` or `q8_0`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Q8_0 => "q8_0",
        }
    }
}
