//! The building blocks of HR-S on candle: linear, LayerNorm, and the forwards of the layout's
//! attention, FFN and layers (`model::layout`) with candle weights ([`Candle`]).
//!
//! Shapes are `[batch, tokens, d]`. Inference uses candle-nn's fused LayerNorm and softmax
//! kernels; those have no backward pass, so a model built for training uses the composite
//! versions instead (same maths, differentiable).

use candle_core::quantized::QMatMul;
use candle_core::{Module, Tensor, D};

use super::layout::{Attention, CandidateLayer, Ffn, SessionLayer, Weights};
use crate::error::Result;

/// The candle model's weights: matmuls f32 or quantized, everything else f32 tensors.
#[derive(Debug, Clone)]
pub(crate) struct Candle;

impl Weights for Candle {
    type Linear = Linear;
    type Norm = LayerNorm;
    type Vector = Tensor;
}

/// Largest attention score block computed at once (`heads × queries × keys` floats). Larger
/// pages are processed in query chunks, so a 5,000-item page needs megabytes, not gigabytes.
const MAX_SCORE_BLOCK: usize = 1 << 22;

/// `y = x·wᵀ + b`, the weight either f32 or quantized.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    pub w: QMatMul,
    pub b: Tensor,
}

impl Linear {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.w.forward(x)?.broadcast_add(&self.b)?)
    }
}

/// LayerNorm over the last dimension.
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    pub g: Tensor,
    pub b: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn forward(&self, x: &Tensor, differentiable: bool) -> Result<Tensor> {
        Ok(if differentiable {
            candle_nn::ops::layer_norm_slow(x, &self.g, &self.b, self.eps)?
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.g, &self.b, self.eps)?
        })
    }
}

impl Attention<Candle> {
    /// Multi-head attention, queries from `x_q` `[B, Tq, d]`, keys and values from `x_kv`
    /// `[B, Tk, d]` (or the same); `key_bias`: additive `[B, 1, 1, Tk]` (0 keep, large negative
    /// drop) for padded batches.
    pub fn forward(
        &self,
        x_q: &Tensor,
        x_kv: &Tensor,
        key_bias: Option<&Tensor>,
        n_heads: usize,
        differentiable: bool,
    ) -> Result<Tensor> {
        let (b, tq, d) = x_q.dims3()?;
        let tk = x_kv.dim(1)?;
        let hd = d / n_heads;
        let heads = |t: Tensor, len: usize| -> Result<Tensor> {
            Ok(t.reshape((b, len, n_heads, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let scale = 1.0 / (hd as f64).sqrt();
        let q = heads((self.q.forward(x_q)? * scale)?, tq)?;
        let k = heads(self.k.forward(x_kv)?, tk)?;
        let v = heads(self.v.forward(x_kv)?, tk)?;
        let kt = k.transpose(2, 3)?.contiguous()?;
        let chunk = (MAX_SCORE_BLOCK / (b * n_heads * tk.max(1))).max(1);
        let mut outs = Vec::with_capacity(tq.div_ceil(chunk));
        for start in (0..tq).step_by(chunk) {
            let len = chunk.min(tq - start);
            let qc = if len == tq { q.clone() } else { q.narrow(2, start, len)? };
            let mut scores = qc.matmul(&kt)?;
            if let Some(bias) = key_bias {
                scores = scores.broadcast_add(bias)?;
            }
            let p = if differentiable {
                candle_nn::ops::softmax(&scores, D::Minus1)?
            } else {
                candle_nn::ops::softmax_last_dim(&scores)?
            };
            outs.push(p.matmul(&v)?);
        }
        let out = if outs.len() == 1 { outs.pop().expect("one chunk") } else { Tensor::cat(&outs, 2)? };
        let out = out.transpose(1, 2)?.reshape((b, tq, d))?;
        self.o.forward(&out)
    }
}

impl Ffn<Candle> {
    /// `fc2(GELU(fc1(x)))`, exact-erf GELU.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(x)?.gelu_erf()?)
    }
}

impl SessionLayer<Candle> {
    pub fn forward(&self, s: &Tensor, bias: Option<&Tensor>, n_heads: usize, diff: bool) -> Result<Tensor> {
        let h = self.ln_attn.forward(s, diff)?;
        let s = (s + self.attn.forward(&h, &h, bias, n_heads, diff)?)?;
        let h = self.ln_ffn.forward(&s, diff)?;
        Ok((&s + self.ffn.forward(&h)?)?)
    }
}

impl CandidateLayer<Candle> {
    /// The cross-attention reads the session encoder's output as it is (no LayerNorm).
    pub fn forward(
        &self,
        c: &Tensor,
        session: &Tensor,
        cand_bias: Option<&Tensor>,
        session_bias: Option<&Tensor>,
        n_heads: usize,
        diff: bool,
    ) -> Result<Tensor> {
        let h = self.ln_self.forward(c, diff)?;
        let c = (c + self.self_attn.forward(&h, &h, cand_bias, n_heads, diff)?)?;
        let h = self.ln_cross.forward(&c, diff)?;
        let c = (&c + self.cross_attn.forward(&h, session, session_bias, n_heads, diff)?)?;
        let h = self.ln_ffn.forward(&c, diff)?;
        Ok((&c + self.ffn.forward(&h)?)?)
    }
}
