//! HR-S: the homerank session-aware set reranker (DESIGN.md §4).
//!
//! ```text
//! event token     = item(E→d)(embedding) + action + dwell + recency + type          [L, d]
//! session tokens  = [bos; event tokens]                                             [L+1, d]
//! candidate token = item(E→d)(embedding) + type + server-rank + shelf               [N, d]
//! s = session layers (pre-LN self-attention + FFN) over the event tokens
//! c = candidate layers (pre-LN self-attention over the N candidates,
//!                       cross-attention candidates → s, FFN)
//! score = head.out(LN(c)) + w_server · serverScore                                  [N]
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
use candle_core::{DType, Device, Tensor};

use super::config::{HrsConfig, TensorKind, TensorSpec};
use super::file::RawTensor;
use super::gguf::TensorType;
use super::layers::{Attention, CandidateLayer, Ffn, LayerNorm, Linear, SessionLayer};
use super::Precision;
use crate::error::{Error, Result};
use crate::features::Features;

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
    pub session: Option<Tensor>,
    pub cands: Option<Tensor>,
}

/// The HR-S network with its weights, ready to run on the CPU.
#[derive(Debug, Clone)]
pub struct HrsModel {
    config: HrsConfig,
    precision: Precision,
    /// Built for training: differentiable LayerNorm and softmax.
    differentiable: bool,
    action: Tensor,
    dwell: Tensor,
    recency: Tensor,
    item_type: Tensor,
    rank: Tensor,
    shelf: Tensor,
    bos: Tensor,
    item: Linear,
    session_layers: Vec<SessionLayer>,
    cand_layers: Vec<CandidateLayer>,
    head_ln: LayerNorm,
    head_w: Tensor,
    head_b: Tensor,
    w_server: Tensor,
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
            let v = values
                .get(&spec.name)
                .ok_or_else(|| Error::InvalidModel(format!("tensor '{}' is missing", spec.name)))?;
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
        let specs: HashMap<String, TensorSpec> =
            config.tensor_specs().into_iter().map(|s| (s.name.clone(), s)).collect();
        let get = |name: &str| -> Result<(&Weight, &TensorSpec)> {
            let spec = specs.get(name).expect("every name used below is in tensor_specs");
            let w = weights.get(name).ok_or_else(|| Error::InvalidModel(format!("tensor '{name}' is missing")))?;
            let shape = match w {
                Weight::Quantized(q) => q.shape().dims().to_vec(),
                Weight::Dense(t) => t.dims().to_vec(),
            };
            if shape != spec.shape {
                return Err(Error::InvalidModel(format!(
                    "tensor '{name}' has shape {shape:?}, expected {:?}",
                    spec.shape
                )));
            }
            Ok((w, spec))
        };
        let plain = |name: &str| -> Result<Tensor> {
            let (w, _) = get(name)?;
            let t = match w {
                Weight::Dense(t) => t.clone(),
                Weight::Quantized(q) => q.dequantize(&Device::Cpu).map_err(model_err(name))?,
            };
            if t.dtype() != DType::F32 {
                return Err(Error::InvalidModel(format!("tensor '{name}' is {:?}, expected f32", t.dtype())));
            }
            Ok(t)
        };
        let matmul = |name: &str| -> Result<QMatMul> {
            let (w, spec) = get(name)?;
            debug_assert_eq!(spec.kind, TensorKind::Matmul);
            let m = match (w, precision) {
                (Weight::Dense(t), Precision::Q8_0) if super::file::quantizable(t.dims()) => {
                    let q = QTensor::quantize(t, GgmlDType::Q8_0).map_err(model_err(name))?;
                    QMatMul::from_qtensor(q).map_err(model_err(name))?
                }
                (Weight::Dense(t), _) => QMatMul::Tensor(t.clone()),
                (Weight::Quantized(q), Precision::F32) => {
                    QMatMul::Tensor(q.dequantize(&Device::Cpu).map_err(model_err(name))?)
                }
                (Weight::Quantized(q), Precision::Q8_0) => QMatMul::from_arc(q.clone()).map_err(model_err(name))?,
            };
            Ok(m)
        };
        let linear = |name: &str| -> Result<Linear> {
            Ok(Linear { w: matmul(&format!("{name}.w"))?, b: plain(&format!("{name}.b"))? })
        };
        let eps = config.ln_eps as f32;
        let norm = |name: &str| -> Result<LayerNorm> {
            Ok(LayerNorm { g: plain(&format!("{name}.g"))?, b: plain(&format!("{name}.b"))?, eps })
        };
        let attention = |name: &str| -> Result<Attention> {
            Ok(Attention {
                q: linear(&format!("{name}.q"))?,
                k: linear(&format!("{name}.k"))?,
                v: linear(&format!("{name}.v"))?,
                o: linear(&format!("{name}.o"))?,
                n_heads: config.n_heads,
            })
        };
        let ffn = |name: &str| -> Result<Ffn> {
            Ok(Ffn { fc1: linear(&format!("{name}.fc1"))?, fc2: linear(&format!("{name}.fc2"))? })
        };
        let session_layers = (0..config.n_session_layers)
            .map(|l| {
                Ok(SessionLayer {
                    ln_attn: norm(&format!("sess{l}.ln_attn"))?,
                    attn: attention(&format!("sess{l}.attn"))?,
                    ln_ffn: norm(&format!("sess{l}.ln_ffn"))?,
                    ffn: ffn(&format!("sess{l}.ffn"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let cand_layers = (0..config.n_cand_layers)
            .map(|l| {
                Ok(CandidateLayer {
                    ln_self: norm(&format!("cand{l}.ln_self"))?,
                    self_attn: attention(&format!("cand{l}.self"))?,
                    ln_cross: norm(&format!("cand{l}.ln_cross"))?,
                    cross_attn: attention(&format!("cand{l}.cross"))?,
                    ln_ffn: norm(&format!("cand{l}.ln_ffn"))?,
                    ffn: ffn(&format!("cand{l}.ffn"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(HrsModel {
            precision,
            differentiable,
            action: plain("embed.action")?,
            dwell: plain("embed.dwell")?,
            recency: plain("embed.recency")?,
            item_type: plain("embed.type")?,
            rank: plain("embed.rank")?,
            shelf: plain("embed.shelf")?,
            bos: plain("embed.bos")?,
            item: linear("embed.item")?,
            session_layers,
            cand_layers,
            head_ln: norm("head.ln")?,
            head_w: plain("head.out.w")?,
            head_b: plain("head.out.b")?,
            w_server: plain("head.w_server")?,
            config,
        })
    }

    pub fn config(&self) -> &HrsConfig {
        &self.config
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Scores the candidates of `features` (one page), in page order.
    pub fn score(&self, features: &Features) -> Result<Vec<f32>> {
        let (n, l, e) = (features.n_cands(), features.n_events(), features.dim);
        if e != self.config.embedding_dim {
            return Err(Error::EmbeddingDim {
                expected: self.config.embedding_dim,
                got: e,
                context: "the features".into(),
            });
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        if l == 0 {
            return Err(Error::Forward("no session events to attend to".into()));
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
        let cands = self.embed_candidates(
            &Tensor::from_slice(&features.cand_embeddings, (1, n, e), dev)?,
            &ids(&features.cand_type)?,
            &ids(&features.cand_rank)?,
            &ids(&features.cand_shelf)?,
        )?;
        let server = Tensor::from_slice(&features.server_score, (1, n), dev)?;
        let scores = self.forward_core(&session, &cands, &server, &Masks::default())?;
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
        let mut t = self.item.forward(embeddings)?;
        for (table, ids) in
            [(&self.action, action), (&self.dwell, dwell), (&self.recency, recency), (&self.item_type, item_type)]
        {
            t = (t + lookup(table, ids)?)?;
        }
        let b = t.dim(0)?;
        let bos = self.bos.unsqueeze(0)?.broadcast_as((b, 1, self.config.d_model))?.contiguous()?;
        Ok(Tensor::cat(&[&bos, &t], 1)?)
    }

    /// Candidate tokens `[B, N, d]` from embeddings `[B, N, E]` and table indices `[B, N]`.
    pub fn embed_candidates(
        &self,
        embeddings: &Tensor,
        item_type: &Tensor,
        rank: &Tensor,
        shelf: &Tensor,
    ) -> Result<Tensor> {
        let mut t = self.item.forward(embeddings)?;
        for (table, ids) in [(&self.item_type, item_type), (&self.rank, rank), (&self.shelf, shelf)] {
            t = (t + lookup(table, ids)?)?;
        }
        Ok(t)
    }

    /// The transformer core: session tokens `[B, L, d]`, candidate tokens `[B, N, d]`, server
    /// scores `[B, N]` → scores `[B, N]`.
    pub fn forward_core(&self, session: &Tensor, cands: &Tensor, server: &Tensor, masks: &Masks) -> Result<Tensor> {
        let diff = self.differentiable;
        let session_bias = masks.session.as_ref().map(key_bias).transpose()?;
        let cand_bias = masks.cands.as_ref().map(key_bias).transpose()?;
        let mut s = session.clone();
        for layer in &self.session_layers {
            s = layer.forward(&s, session_bias.as_ref(), diff)?;
        }
        let mut c = cands.clone();
        for layer in &self.cand_layers {
            c = layer.forward(&c, &s, cand_bias.as_ref(), session_bias.as_ref(), diff)?;
        }
        let h = self.head_ln.forward(&c, diff)?;
        let out = h.broadcast_matmul(&self.head_w.t()?)?.squeeze(2)?;
        let out = out.broadcast_add(&self.head_b)?;
        Ok((out + server.broadcast_mul(&self.w_server)?)?)
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
