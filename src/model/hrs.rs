//! HR-S: the homerank session-aware set reranker (docs/ARCHITECTURE.md, "The model").
//!
//! ```text
//! event token     = item(E→d)(embedding) + action + dwell + recency + type          [L, d]
//! session tokens  = [bos; event tokens]                                             [L+1, d]
//! z               = (similarity features − mean) · scale                            [N, F]
//! candidate token = item(E→d)(embedding) + sim(F→d)(z) + type + server-rank + shelf  [N, d]
//! s = session layers (pre-LN self-attention + FFN) over the event tokens
//! c = candidate layers (pre-LN self-attention over the N candidates,
//!                       cross-attention candidates → s, FFN)
//! score = head.out(LN(c)) + w_server · serverScore + w_sim · z                      [N]
//! ```
//!
//! The learned session-start token `bos` (feature schema 2) gives the cross-attention a key
//! to fall back on: with softmax attention over the events alone, a single event takes all the
//! weight whatever the candidate, so "how close is this candidate to what was skipped" could not
//! change the attention output. The core (layers and head) is unchanged.
//!
//! References: the core (tokens → scores) is pinned by `tests/fixtures/hr-s-core` (a float64
//! numpy reference and onnxruntime); set-wise candidate attention follows PRM (Pei et al.,
//! "Personalized Re-ranking for Recommendation", RecSys 2019).

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Tensor, D};

use super::config::HrsConfig;
use super::file::RawTensor;
use super::gguf::TensorType;
use super::layers::{Candle, LayerNorm, Linear};
use super::layout::{check_shape, missing, Hrs, WeightSource};
use super::Precision;
use crate::error::{Error, Result};
use crate::features::{Features, SIM_FEATURES};

/// One tensor as it comes from a file or a trainer.
#[derive(Debug, Clone)]
pub enum Weight {
    /// Quantized (or f32) GGUF tensor.
    Quantized(Arc<QTensor>),
    /// Plain f32 tensor (may be a training variable).
    Dense(Tensor),
}

/// Padding masks for a batch of unequal sessions or pages: `[B, T]`, 1 keep, 0 padding.
#[derive(Debug, Clone, Default)]
pub struct Masks {
    /// `[B, L + 1]` over the session tokens (start token included); `None`: nothing padded.
    pub session: Option<Tensor>,
    /// `[B, N]` over the candidates; `None`: nothing padded.
    pub cands: Option<Tensor>,
}

/// The HR-S network with its weights, ready to run on the CPU.
pub struct HrsModel {
    config: HrsConfig,
    precision: Precision,
    /// Built for training: differentiable LayerNorm and softmax.
    differentiable: bool,
    net: Hrs<Candle>,
}

impl std::fmt::Debug for HrsModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HrsModel")
            .field("config", &self.config)
            .field("precision", &self.precision)
            .field("differentiable", &self.differentiable)
            .finish_non_exhaustive()
    }
}

/// Named weights as candle tensors: matmul weights quantized or dequantized to the precision
/// asked for, every tensor's shape checked against the layout.
struct CandleSource<'a> {
    weights: &'a HashMap<String, Weight>,
    precision: Precision,
    eps: f32,
}

impl CandleSource<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<&Weight> {
        let w = self.weights.get(name).ok_or_else(|| missing(name))?;
        let got = match w {
            Weight::Quantized(q) => q.shape().dims().to_vec(),
            Weight::Dense(t) => t.dims().to_vec(),
        };
        check_shape(name, &got, shape)?;
        Ok(w)
    }

    fn matmul(&self, name: &str, shape: &[usize]) -> Result<QMatMul> {
        Ok(match (self.get(name, shape)?, self.precision) {
            (Weight::Dense(t), Precision::Q8_0) if super::file::quantizable(t.dims()) => {
                let q = QTensor::quantize(t, GgmlDType::Q8_0).map_err(model_err(name))?;
                QMatMul::from_qtensor(q).map_err(model_err(name))?
            }
            (Weight::Dense(t), _) => QMatMul::Tensor(t.clone()),
            (Weight::Quantized(q), Precision::F32) => {
                QMatMul::Tensor(q.dequantize(&Device::Cpu).map_err(model_err(name))?)
            }
            (Weight::Quantized(q), Precision::Q8_0) => QMatMul::from_arc(q.clone()).map_err(model_err(name))?,
        })
    }
}

impl WeightSource for CandleSource<'_> {
    type Weights = Candle;

    fn linear(&mut self, name: &str, inp: usize, out: usize) -> Result<Linear> {
        Ok(Linear { w: self.matmul(&format!("{name}.w"), &[out, inp])?, b: self.vector(&format!("{name}.b"), &[out])? })
    }

    fn norm(&mut self, name: &str, d: usize) -> Result<LayerNorm> {
        Ok(LayerNorm {
            g: self.vector(&format!("{name}.g"), &[d])?,
            b: self.vector(&format!("{name}.b"), &[d])?,
            eps: self.eps,
        })
    }

    fn vector(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = match self.get(name, shape)? {
            Weight::Dense(t) => t.clone(),
            Weight::Quantized(q) => q.dequantize(&Device::Cpu).map_err(model_err(name))?,
        };
        if t.dtype() != DType::F32 {
            return Err(Error::InvalidModel(format!("tensor '{name}' is {:?}, expected f32", t.dtype())));
        }
        Ok(t)
    }
}

impl HrsModel {
    /// Builds the model from named tensors (`config.tensor_specs()` names; matmul weights `[out, in]`).
    ///
    /// With [`Precision::Q8_0`], f32 matmul weights are quantized here and already-quantized
    /// ones are used as they are; with [`Precision::F32`], quantized weights are dequantized.
    pub fn from_weights(config: HrsConfig, weights: &HashMap<String, Weight>, precision: Precision) -> Result<Self> {
        Self::build(config, weights, precision, false)
    }

    /// Builds the model from a model file's tensors, computing in `precision`.
    pub fn from_file_tensors(
        config: HrsConfig,
        tensors: &HashMap<String, RawTensor>,
        precision: Precision,
    ) -> Result<Self> {
        let mut weights = HashMap::with_capacity(tensors.len());
        for (name, t) in tensors {
            let w = match t.dtype {
                TensorType::F32 => Weight::Dense(Tensor::from_vec(t.to_f32(), t.shape.as_slice(), &Device::Cpu)?),
                TensorType::Q8_0 => Weight::Quantized(Arc::new(
                    candle_core::quantized::ggml_file::qtensor_from_ggml(
                        GgmlDType::Q8_0,
                        &t.data,
                        t.shape.clone(),
                        &Device::Cpu,
                    )
                    .map_err(model_err(name))?,
                )),
            };
            weights.insert(name.clone(), w);
        }
        Self::build(config, &weights, precision, false)
    }

    /// Builds the model from plain f32 values (`tensor_specs` names and shapes).
    pub fn from_f32(config: HrsConfig, values: &HashMap<String, Vec<f32>>, precision: Precision) -> Result<Self> {
        let specs = config.tensor_specs();
        let mut weights = HashMap::with_capacity(specs.len());
        for spec in specs {
            let v = values.get(&spec.name).ok_or_else(|| missing(&spec.name))?;
            weights
                .insert(spec.name.clone(), Weight::Dense(Tensor::from_slice(v, spec.shape.as_slice(), &Device::Cpu)?));
        }
        Self::build(config, &weights, precision, false)
    }

    /// Builds a differentiable f32 model over the given (variable) tensors, for training.
    pub fn for_training(config: HrsConfig, weights: &HashMap<String, Weight>) -> Result<Self> {
        Self::build(config, weights, Precision::F32, true)
    }

    fn build(
        config: HrsConfig,
        weights: &HashMap<String, Weight>,
        precision: Precision,
        differentiable: bool,
    ) -> Result<Self> {
        config.validate()?;
        let mut source = CandleSource { weights, precision, eps: config.ln_eps as f32 };
        let net = Hrs::load(&config, &mut source)?;
        Ok(HrsModel { config, precision, differentiable, net })
    }

    /// The architecture the weights were loaded for.
    pub fn config(&self) -> &HrsConfig {
        &self.config
    }

    /// The precision of the matmuls, as asked for when the model was built (Q8_0 quantizes f32
    /// weights, F32 dequantizes Q8_0 ones).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Scores the candidates of `features` (one page), in page order.
    pub fn score(&self, features: &Features) -> Result<Vec<f32>> {
        features.check(&self.config)?;
        let (n, l, e) = (features.n_cands(), features.n_events(), features.dim);
        if n == 0 {
            return Ok(Vec::new());
        }
        let dev = &Device::Cpu;
        let ids = |v: &[u32]| Tensor::from_slice(v, (1, v.len()), dev);
        let session = self.embed_events(
            &Tensor::from_slice(&features.event_embeddings, (1, l, e), dev)?,
            &ids(&features.event_action)?,
            &ids(&features.event_dwell)?,
            &ids(&features.event_recency)?,
            &ids(&features.event_type)?,
        )?;
        let z = self.normalize_similarity(&Tensor::from_slice(&features.cand_sim, (1, n, SIM_FEATURES), dev)?)?;
        let cands = self.embed_candidates(
            &Tensor::from_slice(&features.cand_embeddings, (1, n, e), dev)?,
            &ids(&features.cand_type)?,
            &ids(&features.cand_rank)?,
            &ids(&features.cand_shelf)?,
            &z,
        )?;
        let server = Tensor::from_slice(&features.server_score, (1, n), dev)?;
        let scores = (self.forward_core(&session, &cands, &server, &Masks::default())? + self.similarity_term(&z)?)?;
        Ok(scores.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Session tokens `[B, L + 1, d]` (the start token, then the events) from embeddings
    /// `[B, L, E]` and table indices `[B, L]`.
    pub fn embed_events(
        &self,
        embeddings: &Tensor,
        action: &Tensor,
        dwell: &Tensor,
        recency: &Tensor,
        item_type: &Tensor,
    ) -> Result<Tensor> {
        let tables = &self.net.tables;
        let mut t = self.net.item.forward(embeddings)?;
        for (table, ids) in [
            (&tables.action, action),
            (&tables.dwell, dwell),
            (&tables.recency, recency),
            (&tables.item_type, item_type),
        ] {
            t = (t + lookup(table, ids)?)?;
        }
        let b = t.dim(0)?;
        let bos = tables.bos.unsqueeze(0)?.broadcast_as((b, 1, self.config.d_model))?.contiguous()?;
        Ok(Tensor::cat(&[&bos, &t], 1)?)
    }

    /// Candidate tokens `[B, N, d]` from embeddings `[B, N, E]`, table indices `[B, N]` and the
    /// normalized similarity features `z` `[B, N, F]`.
    pub fn embed_candidates(
        &self,
        embeddings: &Tensor,
        item_type: &Tensor,
        rank: &Tensor,
        shelf: &Tensor,
        z: &Tensor,
    ) -> Result<Tensor> {
        let tables = &self.net.tables;
        let mut t = (self.net.item.forward(embeddings)? + self.net.sim.proj.forward(z)?)?;
        for (table, ids) in [(&tables.item_type, item_type), (&tables.rank, rank), (&tables.shelf, shelf)] {
            t = (t + lookup(table, ids)?)?;
        }
        Ok(t)
    }

    /// `z = (raw − mean) · scale` of similarity features `[B, N, F]`.
    pub fn normalize_similarity(&self, raw: &Tensor) -> Result<Tensor> {
        let sim = &self.net.sim;
        Ok(raw.broadcast_sub(&sim.mean)?.broadcast_mul(&sim.scale)?)
    }

    /// The head's similarity term `w_sim · z`, `[B, N]` (added to the core's scores).
    pub fn similarity_term(&self, z: &Tensor) -> Result<Tensor> {
        Ok(z.broadcast_mul(&self.net.head.w_sim)?.sum(D::Minus1)?)
    }

    /// The transformer core: session tokens `[B, L, d]`, candidate tokens `[B, N, d]`, server
    /// scores `[B, N]` → scores `[B, N]`.
    pub fn forward_core(&self, session: &Tensor, cands: &Tensor, server: &Tensor, masks: &Masks) -> Result<Tensor> {
        let (diff, heads, head) = (self.differentiable, self.config.n_heads, &self.net.head);
        let session_bias = masks.session.as_ref().map(key_bias).transpose()?;
        let cand_bias = masks.cands.as_ref().map(key_bias).transpose()?;
        let mut s = session.clone();
        for layer in &self.net.session_layers {
            s = layer.forward(&s, session_bias.as_ref(), heads, diff)?;
        }
        let mut c = cands.clone();
        for layer in &self.net.cand_layers {
            c = layer.forward(&c, &s, cand_bias.as_ref(), session_bias.as_ref(), heads, diff)?;
        }
        let h = head.ln.forward(&c, diff)?;
        let out = h.broadcast_matmul(&head.out_w.t()?)?.squeeze(2)?;
        let out = out.broadcast_add(&head.out_b)?;
        Ok((out + server.broadcast_mul(&head.w_server)?)?)
    }
}

/// Rows of `table` `[rows, d]` at `ids` `[B, T]` → `[B, T, d]`.
fn lookup(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    let d = table.dim(1)?;
    Ok(table.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, d))?)
}

/// Padding mask `[B, T]` (1 keep, 0 pad) → additive attention bias `[B, 1, 1, T]`.
fn key_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    // A large finite negative rather than -inf: a fully padded row then stays finite.
    Ok(((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((b, 1, 1, t))?)
}

fn model_err(name: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::InvalidModel(format!("tensor '{name}': {e}"))
}
