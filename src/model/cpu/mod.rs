//! The HR-S forward for inference on the CPU, without a tensor library: what the ranker runs,
//! natively and in wasm. The same computation as `model::hrs` (candle, used for training and as
//! the reference); tests hold the two to 1e-4 on fixtures.
//!
//! Two sets of kernels ([`Kernels`]). For Q8_0 weights the default is int16: the linear layers
//! quantize their input rows on the fly and multiply them with the file's int8 weights in
//! integers (`int16`), the attention runs both of its products on the same integer dot with the
//! softmax between them on 2^x (`int16_attention`), and LayerNorm and GELU run on four-lane
//! vectors (`elementwise`) — all written once against `simd` (wasm simd128, SSE2 or scalar, the
//! same bits on each). f32 weights, and [`Kernels::F32`] on any file, use the f32 kernels
//! (`kernels`) with the weights dequantized once at load: the reference. Buffers live in a
//! [`Scratch`] reused across calls, so a rerank allocates nothing in the forward. The session
//! encoder's output, and the keys and values the candidates read from it, are cached until the
//! session changes.

mod elementwise;
mod int16;
mod int16_attention;
mod kernels;

use std::collections::HashMap;

use super::config::HrsConfig;
use super::file::{checked_tensor, RawTensor};
use super::gguf::TensorType;
use super::layout::{Attention, CandidateLayer, Hrs, SessionLayer, WeightSource, Weights};
use crate::error::Result;
use crate::features::Features;

pub use kernels::{dot, erf, exp};

/// The CPU engine's weights: f32, matmul weights transposed for the kernels.
pub(crate) struct Cpu;

impl Weights for Cpu {
    type Linear = Linear;
    type Norm = Norm;
    type Vector = Vec<f32>;
}

/// Which kernels the linear layers of a Q8_0 model run (f32 weights always run f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Int16 activations × the file's int8 weights where the weights are Q8_0 (the default).
    #[default]
    Int16,
    /// f32 activations × dequantized weights: the reference the GPU and the int16 kernels are
    /// checked against.
    F32,
}

pub(crate) enum Linear {
    F32 {
        /// The weight transposed: `in × out`, row-major (the file holds `out × in`).
        wt: Vec<f32>,
        b: Vec<f32>,
        out: usize,
    },
    Int16(int16::Int16Linear),
}

impl Linear {
    fn from_f32(w: &[f32], b: Vec<f32>) -> Self {
        let (out, k) = (b.len(), w.len() / b.len().max(1));
        let mut wt = vec![0f32; w.len()];
        for o in 0..out {
            for c in 0..k {
                wt[c * out + o] = w[o * k + c];
            }
        }
        Linear::F32 { wt, b, out }
    }

    fn forward(&self, x: &[f32], rows: usize, q: &mut Quantized, y: &mut Vec<f32>) {
        Self::forward_all(&[self], x, rows, q, &mut [y]);
    }

    /// Several layers over the same input (the attention's q, k, v): the int16 ones share one
    /// quantization of `x`.
    fn forward_all(layers: &[&Linear], x: &[f32], rows: usize, q: &mut Quantized, ys: &mut [&mut Vec<f32>]) {
        let mut quantized = false;
        for (layer, y) in layers.iter().zip(ys.iter_mut()) {
            match layer {
                Linear::F32 { wt, b, out } => {
                    y.resize(rows * out, 0.0);
                    kernels::linear(x, rows, wt, b, *out, y);
                }
                Linear::Int16(lin) => {
                    if !quantized {
                        int16::quantize_rows(x, lin.k(), &mut q.values, &mut q.scales);
                        quantized = true;
                    }
                    lin.forward_quantized(&q.values, &q.scales, rows, y);
                }
            }
        }
    }
}

/// Scratch of the int16 kernels: the quantized rows of the layer input and their scales.
#[derive(Default)]
pub(crate) struct Quantized {
    values: Vec<i16>,
    scales: Vec<f32>,
}

pub(crate) struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
}

/// Model file tensors as the CPU engine's weights: Q8_0 matmul weights packed for the int16
/// kernels (with [`Kernels::Int16`]), everything else as f32 (Q8_0 dequantized once).
struct CpuSource<'a>(&'a HashMap<String, RawTensor>, Kernels);

impl WeightSource for CpuSource<'_> {
    type Weights = Cpu;

    fn linear(&mut self, name: &str, inp: usize, out: usize) -> Result<Linear> {
        let b = self.vector(&format!("{name}.b"), &[out])?;
        let w = checked_tensor(self.0, &format!("{name}.w"), &[out, inp])?;
        if self.1 == Kernels::Int16 && w.dtype == TensorType::Q8_0 {
            if let Some(lin) = int16::Int16Linear::from_q8_0(&w.data, inp, b.clone()) {
                return Ok(Linear::Int16(lin));
            }
        }
        Ok(Linear::from_f32(&w.to_f32(), b))
    }

    fn norm(&mut self, name: &str, d: usize) -> Result<Norm> {
        Ok(Norm { g: self.vector(&format!("{name}.g"), &[d])?, b: self.vector(&format!("{name}.b"), &[d])? })
    }

    fn vector(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(checked_tensor(self.0, name, shape)?.to_f32())
    }
}

/// Reusable buffers of one forward (grown to the largest page seen, never shrunk) and the
/// session cache.
#[derive(Default)]
pub struct Scratch {
    s: Vec<f32>,
    c: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    a: Vec<f32>,
    o: Vec<f32>,
    f: Vec<f32>,
    kt: Vec<f32>,
    scores: Vec<f32>,
    xq: Quantized,
    att: int16_attention::AttentionScratch,
    /// Normalized similarity features, and the head's residual terms.
    z: Vec<f32>,
    residual: Vec<f32>,
    /// Session encoder cache: the event inputs it was computed from, and per candidate layer the
    /// cross-attention keys and values.
    session_key: Vec<u32>,
    session_kv: Vec<(Vec<f32>, Vec<f32>)>,
    pub session_cache_hits: u64,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").field("session_cache_hits", &self.session_cache_hits).finish_non_exhaustive()
    }
}

/// HR-S weights laid out for the CPU kernels.
pub struct CpuModel {
    config: HrsConfig,
    kernels: Kernels,
    net: Hrs<Cpu>,
}

impl std::fmt::Debug for CpuModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuModel").field("config", &self.config).finish_non_exhaustive()
    }
}

impl CpuModel {
    /// Builds the model from a model file's tensors (`ModelFile::tensors`), with the default
    /// kernels.
    pub fn new(config: &HrsConfig, tensors: &HashMap<String, RawTensor>) -> Result<Self> {
        Self::with_kernels(config, tensors, Kernels::default())
    }

    /// [`CpuModel::new`] with the given kernels.
    pub fn with_kernels(config: &HrsConfig, tensors: &HashMap<String, RawTensor>, kernels: Kernels) -> Result<Self> {
        config.validate()?;
        let net = Hrs::load(config, &mut CpuSource(tensors, kernels))?;
        // The int16 attention goes with the int16 linear layers (a Q8_0 file): f32 files and
        // Kernels::F32 keep the whole forward in f32.
        let int16 = matches!(net.cand_layers.first().map(|l| &l.ffn.fc1), Some(Linear::Int16(_)));
        let kernels = if int16 { Kernels::Int16 } else { Kernels::F32 };
        Ok(CpuModel { config: config.clone(), kernels, net })
    }

    pub fn config(&self) -> &HrsConfig {
        &self.config
    }

    /// The kernels the forward runs: int16 for a Q8_0 file unless [`Kernels::F32`] was asked.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Scores the candidates of one page, in page order.
    pub fn score(&self, f: &Features, scratch: &mut Scratch) -> Result<Vec<f32>> {
        f.check(&self.config)?;
        let (n, l) = (f.n_cands(), f.n_events());
        if n == 0 {
            return Ok(Vec::new());
        }
        let tables = &self.net.tables;

        // The session part depends only on the event inputs: reuse it while they are unchanged.
        // Session tokens: the start token, then the events.
        let key = session_key(f);
        let ls = l + 1;
        if scratch.session_key != key || scratch.session_kv.len() != self.net.cand_layers.len() {
            let events = [
                (&f.event_action, &tables.action),
                (&f.event_dwell, &tables.dwell),
                (&f.event_recency, &tables.recency),
                (&f.event_type, &tables.item_type),
            ];
            self.embed(&f.event_embeddings, l, &events, &mut scratch.xq, &mut scratch.s);
            scratch.s.splice(0..0, tables.bos.iter().copied());
            for layer in &self.net.session_layers {
                self.session_layer(layer, ls, scratch);
            }
            self.cross_keys_values(ls, scratch);
            scratch.session_key = key;
        } else {
            scratch.session_cache_hits += 1;
        }

        let cands = [(&f.cand_type, &tables.item_type), (&f.cand_rank, &tables.rank), (&f.cand_shelf, &tables.shelf)];
        self.embed(&f.cand_embeddings, n, &cands, &mut scratch.xq, &mut scratch.c);
        let sim = &self.net.sim;
        sim.normalize(&f.cand_sim, &mut scratch.z);
        sim.proj.forward(&scratch.z, n, &mut scratch.xq, &mut scratch.o);
        add(&mut scratch.c, &scratch.o);
        for (i, layer) in self.net.cand_layers.iter().enumerate() {
            self.cand_layer(layer, i, n, ls, scratch);
        }
        let mut residual = std::mem::take(&mut scratch.residual);
        self.net.head.residual(&f.server_score, &scratch.z, &mut residual);
        let scores = self.head(n, &residual, scratch);
        scratch.residual = residual;
        Ok(scores)
    }

    /// Per candidate layer, the cross-attention keys and values of the session tokens in `s`.
    fn cross_keys_values(&self, ls: usize, scratch: &mut Scratch) {
        let Scratch { s, session_kv, xq, .. } = scratch;
        // The buffers of the last session are reused (each output is resized and overwritten).
        session_kv.resize_with(self.net.cand_layers.len(), Default::default);
        for (layer, (k, v)) in self.net.cand_layers.iter().zip(session_kv.iter_mut()) {
            Linear::forward_all(&[&layer.cross_attn.k, &layer.cross_attn.v], s, ls, xq, &mut [k, v]);
        }
    }

    /// `out(LN(c)) + residual` for the `n` candidate tokens in `c`.
    fn head(&self, n: usize, residual: &[f32], scratch: &mut Scratch) -> Vec<f32> {
        let (d, head) = (self.config.d_model, &self.net.head);
        let Scratch { c, h, .. } = scratch;
        h.resize(n * d, 0.0);
        self.layer_norm(c, d, &head.ln.g, &head.ln.b, self.config.ln_eps as f32, h);
        (0..n).map(|i| kernels::dot(&h[i * d..(i + 1) * d], &head.out_w) + head.out_b[0] + residual[i]).collect()
    }

    /// Tokens into `out`: the item projection plus, per `(ids, table)`, the table's row.
    fn embed(
        &self,
        embeddings: &[f32],
        rows: usize,
        lookups: &[(&Vec<u32>, &Vec<f32>)],
        xq: &mut Quantized,
        out: &mut Vec<f32>,
    ) {
        let d = self.config.d_model;
        self.net.item.forward(embeddings, rows, xq, out);
        for r in 0..rows {
            let row = &mut out[r * d..(r + 1) * d];
            for &(ids, table) in lookups {
                let k = ids[r] as usize;
                kernels::axpy(1.0, &table[k * d..(k + 1) * d], row);
            }
        }
    }

    fn session_layer(&self, layer: &SessionLayer<Cpu>, l: usize, sc: &mut Scratch) {
        let (d, eps) = (self.config.d_model, self.config.ln_eps as f32);
        let Scratch { s, h, q, k, v, a, o, f, kt, scores, xq, att, .. } = sc;
        h.resize(l * d, 0.0);
        self.layer_norm(s, d, &layer.ln_attn.g, &layer.ln_attn.b, eps, h);
        self.attend(&layer.attn, h, l, None, l, Bufs { q, k, v, kt, scores, a, xq: &mut *xq, att: &mut *att }, o);
        add(s, o);
        self.layer_norm(s, d, &layer.ln_ffn.g, &layer.ln_ffn.b, eps, h);
        layer.ffn.fc1.forward(h, l, xq, f);
        self.gelu(f);
        layer.ffn.fc2.forward(f, l, xq, o);
        add(s, o);
    }

    fn cand_layer(&self, layer: &CandidateLayer<Cpu>, index: usize, n: usize, l: usize, sc: &mut Scratch) {
        let (d, eps) = (self.config.d_model, self.config.ln_eps as f32);
        let Scratch { c, h, q, k, v, a, o, f, kt, scores, session_kv, xq, att, .. } = sc;
        h.resize(n * d, 0.0);
        self.layer_norm(c, d, &layer.ln_self.g, &layer.ln_self.b, eps, h);
        self.attend(&layer.self_attn, h, n, None, n, Bufs { q, k, v, kt, scores, a, xq: &mut *xq, att: &mut *att }, o);
        add(c, o);
        self.layer_norm(c, d, &layer.ln_cross.g, &layer.ln_cross.b, eps, h);
        let (sk, sv) = &session_kv[index];
        self.attend(
            &layer.cross_attn,
            h,
            n,
            Some((sk, sv)),
            l,
            Bufs { q, k, v, kt, scores, a, xq: &mut *xq, att: &mut *att },
            o,
        );
        add(c, o);
        self.layer_norm(c, d, &layer.ln_ffn.g, &layer.ln_ffn.b, eps, h);
        layer.ffn.fc1.forward(h, n, xq, f);
        self.gelu(f);
        layer.ffn.fc2.forward(f, n, xq, o);
        add(c, o);
    }

    fn layer_norm(&self, x: &[f32], d: usize, g: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
        match self.kernels {
            Kernels::Int16 => elementwise::layer_norm(x, d, g, b, eps, y),
            Kernels::F32 => kernels::layer_norm(x, d, g, b, eps, y),
        }
    }

    fn gelu(&self, x: &mut [f32]) {
        match self.kernels {
            Kernels::Int16 => elementwise::gelu(x),
            Kernels::F32 => kernels::gelu(x),
        }
    }

    /// `o = Attention(x)`: self-attention when `kv` is `None`, else over the given keys/values.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        attn: &Attention<Cpu>,
        x: &[f32],
        tq: usize,
        kv: Option<(&Vec<f32>, &Vec<f32>)>,
        tk: usize,
        bufs: Bufs<'_>,
        o: &mut Vec<f32>,
    ) {
        let Bufs { q, k, v, kt, scores, a, xq, att } = bufs;
        let (d, heads) = (self.config.d_model, self.config.n_heads);
        let (k, v): (&[f32], &[f32]) = match kv {
            Some((k, v)) => {
                attn.q.forward(x, tq, xq, q);
                (k, v)
            }
            None => {
                Linear::forward_all(&[&attn.q, &attn.k, &attn.v], x, tq, xq, &mut [&mut *q, &mut *k, &mut *v]);
                (k, v)
            }
        };
        let scale = 1.0 / ((d / heads) as f32).sqrt();
        q.iter_mut().for_each(|x| *x *= scale);
        a.resize(tq * d, 0.0);
        if self.kernels == Kernels::Int16 && d == heads * int16_attention::HEAD {
            int16_attention::attention(q, k, v, tq, tk, d, att, a);
        } else {
            kt.resize(d * tk, 0.0);
            scores.resize(kernels::QUERY_BLOCK * tk, 0.0);
            kernels::attention(q, k, v, tq, tk, d, heads, kt, scores, a);
        }
        attn.o.forward(a, tq, xq, o);
    }

    /// The core alone (tokens already embedded, no similarity features), for the golden
    /// fixture: session `l × d`, candidates `n × d`, server scores `n`.
    pub fn forward_core(&self, session: &[f32], l: usize, cands: &[f32], n: usize, server: &[f32]) -> Vec<f32> {
        let mut sc = Scratch { s: session.to_vec(), c: cands.to_vec(), ..Default::default() };
        for layer in &self.net.session_layers {
            self.session_layer(layer, l, &mut sc);
        }
        self.cross_keys_values(l, &mut sc);
        for (i, layer) in self.net.cand_layers.iter().enumerate() {
            self.cand_layer(layer, i, n, l, &mut sc);
        }
        let residual: Vec<f32> = server.iter().map(|s| self.net.head.w_server[0] * s).collect();
        self.head(n, &residual, &mut sc)
    }
}

/// The scratch buffers one attention call works in.
struct Bufs<'a> {
    q: &'a mut Vec<f32>,
    k: &'a mut Vec<f32>,
    v: &'a mut Vec<f32>,
    kt: &'a mut Vec<f32>,
    scores: &'a mut Vec<f32>,
    a: &'a mut Vec<f32>,
    xq: &'a mut Quantized,
    att: &'a mut int16_attention::AttentionScratch,
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Everything the session encoder reads, as one comparable key (embedding bits included).
fn session_key(f: &Features) -> Vec<u32> {
    let mut key = Vec::with_capacity(f.event_embeddings.len() + 4 * f.n_events() + 1);
    key.push(f.n_events() as u32);
    key.extend(f.event_embeddings.iter().map(|v| v.to_bits()));
    key.extend(&f.event_action);
    key.extend(&f.event_dwell);
    key.extend(&f.event_recency);
    key.extend(&f.event_type);
    key
}
