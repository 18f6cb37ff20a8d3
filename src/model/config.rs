//! HR-S architecture hyper-parameters and the list of tensors they imply.

use super::layout::{Hrs, SpecRecorder};
use crate::error::{Error, Result};
use crate::features::FEATURE_SCHEMA;

/// Architecture of an HR-S model (docs/ARCHITECTURE.md, "The model"). The default is `homerank-s`.
#[derive(Debug, Clone, PartialEq)]
pub struct HrsConfig {
    /// Width of every token.
    pub d_model: usize,
    /// Attention heads per layer; must divide `d_model`.
    pub n_heads: usize,
    /// Hidden width of the feed-forward blocks.
    pub d_ff: usize,
    /// Self-attention layers over the session events.
    pub n_session_layers: usize,
    /// Candidate layers (self-attention, cross-attention to the session, FFN).
    pub n_cand_layers: usize,
    /// Length E of item embeddings.
    pub embedding_dim: usize,
    /// Most events the session encoder reads (L).
    pub max_events: usize,
    /// Epsilon added to the variance in every LayerNorm; in (0, 1), default 1e-5.
    pub ln_eps: f64,
    /// Version of the input features the model was trained on; a file loads only when it equals
    /// this build's schema (3).
    pub feature_schema: u32,
}

impl Default for HrsConfig {
    fn default() -> Self {
        HrsConfig {
            d_model: 64,
            n_heads: 4,
            d_ff: 256,
            n_session_layers: 2,
            n_cand_layers: 2,
            embedding_dim: 32,
            max_events: 64,
            ln_eps: 1e-5,
            feature_schema: FEATURE_SCHEMA,
        }
    }
}

/// What a tensor is, which decides how it is stored: matmul weights can be quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// A linear layer's weight, shape `[out, in]` (y = x·wᵀ + b).
    Matmul,
    /// Biases, LayerNorm gains and shifts, lookup tables and scalars: always f32.
    Plain,
}

/// Name, shape and kind of one model tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// The tensor's name in the file, e.g. `sim.mean` or `sess0.attn.q.w`.
    pub name: String,
    /// Dims, outermost first; matmul weights are `[out, in]`.
    pub shape: Vec<usize>,
    /// Whether it may be stored quantized.
    pub kind: TensorKind,
}

impl HrsConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// Checks that the dimensions fit together.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidModel(m));
        if self.d_model == 0 || self.n_heads == 0 || self.d_model % self.n_heads != 0 {
            return bad(format!("d_model {} must be a positive multiple of n_heads {}", self.d_model, self.n_heads));
        }
        if self.d_ff == 0 || self.embedding_dim == 0 || self.max_events == 0 {
            return bad("d_ff, embedding_dim and max_events must be positive".into());
        }
        if self.d_model > 4096 || self.d_ff > 16384 || self.embedding_dim > 4096 || self.max_events > 4096 {
            return bad(format!("dimensions out of range: {self:?}"));
        }
        if self.n_session_layers > 16 || self.n_cand_layers > 16 {
            return bad(format!(
                "{} session and {} candidate layers, at most 16 each are supported",
                self.n_session_layers, self.n_cand_layers
            ));
        }
        if !(self.ln_eps > 0.0 && self.ln_eps < 1.0) {
            return bad(format!("ln_eps {} must be in (0, 1)", self.ln_eps));
        }
        if self.feature_schema != FEATURE_SCHEMA {
            return Err(Error::UnsupportedSchema { found: self.feature_schema, supported: FEATURE_SCHEMA });
        }
        Ok(())
    }

    /// Every tensor of the model, in file order: the layout's walk (`model::layout`) recorded.
    pub fn tensor_specs(&self) -> Vec<TensorSpec> {
        let mut recorder = SpecRecorder::default();
        Hrs::load(self, &mut recorder).expect("recording tensor specs cannot fail");
        recorder.0
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.tensor_specs().iter().map(|s| s.shape.iter().product::<usize>()).sum()
    }
}
