//! The HR-S forward for inference on the CPU, without a tensor library: what the ranker runs,
//! natively and in wasm. The same computation as `model::hrs` (candle, used for training and as
//! the reference); tests hold the two to 1e-4 on fixtures.
//!
//! Weights are kept as f32 (Q8_0 files are dequantized once at load, 4× the memory of the file,
//! under a megabyte): in wasm simd128 an int8 dot product costs as many instructions per
//! multiply-add as an f32 one, so f32 compute is as fast and closer to the reference. Buffers live
//! in a [`Scratch`] reused across calls, so a rerank allocates nothing in the forward. The session
//! encoder's output, and the keys and values the candidates read from it, are cached until the
//! session changes.

mod kernels;

use std::collections::HashMap;

use super::config::HrsConfig;
use super::file::RawTensor;
use crate::error::{Error, Result};
use crate::features::Features;

pub use kernels::{dot, erf, exp};

struct Linear {
    /// The weight transposed: `in × out`, row-major (the file holds `out × in`).
    wt: Vec<f32>,
    b: Vec<f32>,
    out: usize,
}

impl Linear {
    fn from_file(w: &[f32], b: Vec<f32>) -> Self {
        let (out, k) = (b.len(), w.len() / b.len().max(1));
        let mut wt = vec![0f32; w.len()];
        for o in 0..out {
            for c in 0..k {
                wt[c * out + o] = w[o * k + c];
            }
        }
        Linear { wt, b, out }
    }

    fn forward(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) {
        y.resize(rows * self.out, 0.0);
        kernels::linear(x, rows, &self.wt, &self.b, self.out, y);
    }
}

struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
}

struct Ffn {
    fc1: Linear,
    fc2: Linear,
}

struct SessionLayer {
    ln_attn: Norm,
    attn: Attention,
    ln_ffn: Norm,
    ffn: Ffn,
}

struct CandidateLayer {
    ln_self: Norm,
    self_attn: Attention,
    ln_cross: Norm,
    cross: Attention,
    ln_ffn: Norm,
    ffn: Ffn,
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
    tables: [Vec<f32>; 6], // action, dwell, recency, type, rank, shelf
    /// The session-start token (see `model::hrs`).
    bos: Vec<f32>,
    item: Linear,
    session_layers: Vec<SessionLayer>,
    cand_layers: Vec<CandidateLayer>,
    head_ln: Norm,
    head_w: Vec<f32>,
    head_b: f32,
    w_server: f32,
}

impl std::fmt::Debug for CpuModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuModel").field("config", &self.config).finish_non_exhaustive()
    }
}

impl CpuModel {
    /// Builds the model from checked file tensors (`ModelFile::tensors`).
    pub fn new(config: &HrsConfig, tensors: &HashMap<String, RawTensor>) -> Result<Self> {
        config.validate()?;
        let get = |name: &str| -> Result<Vec<f32>> {
            tensors
                .get(name)
                .map(RawTensor::to_f32)
                .ok_or_else(|| Error::InvalidModel(format!("tensor '{name}' is missing")))
        };
        let linear = |name: &str| -> Result<Linear> {
            let w = get(&format!("{name}.w"))?;
            let b = get(&format!("{name}.b"))?;
            Ok(Linear::from_file(&w, b))
        };
        let norm =
            |name: &str| -> Result<Norm> { Ok(Norm { g: get(&format!("{name}.g"))?, b: get(&format!("{name}.b"))? }) };
        let attention = |name: &str| -> Result<Attention> {
            Ok(Attention {
                q: linear(&format!("{name}.q"))?,
                k: linear(&format!("{name}.k"))?,
                v: linear(&format!("{name}.v"))?,
                o: linear(&format!("{name}.o"))?,
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
            .collect::<Result<_>>()?;
        let cand_layers = (0..config.n_cand_layers)
            .map(|l| {
                Ok(CandidateLayer {
                    ln_self: norm(&format!("cand{l}.ln_self"))?,
                    self_attn: attention(&format!("cand{l}.self"))?,
                    ln_cross: norm(&format!("cand{l}.ln_cross"))?,
                    cross: attention(&format!("cand{l}.cross"))?,
                    ln_ffn: norm(&format!("cand{l}.ln_ffn"))?,
                    ffn: ffn(&format!("cand{l}.ffn"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(CpuModel {
            config: config.clone(),
            tables: [
                get("embed.action")?,
                get("embed.dwell")?,
                get("embed.recency")?,
                get("embed.type")?,
                get("embed.rank")?,
                get("embed.shelf")?,
            ],
            item: linear("embed.item")?,
            bos: get("embed.bos")?,
            session_layers,
            cand_layers,
            head_ln: norm("head.ln")?,
            head_w: get("head.out.w")?,
            head_b: get("head.out.b")?[0],
            w_server: get("head.w_server")?[0],
        })
    }

    pub fn config(&self) -> &HrsConfig {
        &self.config
    }

    /// Scores the candidates of one page, in page order.
    pub fn score(&self, f: &Features, scratch: &mut Scratch) -> Result<Vec<f32>> {
        let (n, l, e, d) = (f.n_cands(), f.n_events(), f.dim, self.config.d_model);
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
        f.check_table_indices(self.tables.each_ref().map(|t| t.len() / d))?;

        // The session part depends only on the event inputs: reuse it while they are unchanged.
        // Session tokens: the start token, then the events.
        let key = session_key(f);
        let ls = l + 1;
        if scratch.session_key != key || scratch.session_kv.len() != self.cand_layers.len() {
            self.embed(
                &f.event_embeddings,
                l,
                &[(&f.event_action, 0), (&f.event_dwell, 1), (&f.event_recency, 2), (&f.event_type, 3)],
                scratch,
                true,
            );
            scratch.s.splice(0..0, self.bos.iter().copied());
            for layer in &self.session_layers {
                self.session_layer(layer, ls, scratch);
            }
            let Scratch { s, session_kv, .. } = scratch;
            session_kv.clear();
            for layer in &self.cand_layers {
                let (mut k, mut v) = (Vec::new(), Vec::new());
                layer.cross.k.forward(s, ls, &mut k);
                layer.cross.v.forward(s, ls, &mut v);
                session_kv.push((k, v));
            }
            scratch.session_key = key;
        } else {
            scratch.session_cache_hits += 1;
        }

        self.embed(&f.cand_embeddings, n, &[(&f.cand_type, 3), (&f.cand_rank, 4), (&f.cand_shelf, 5)], scratch, false);
        for (i, layer) in self.cand_layers.iter().enumerate() {
            self.cand_layer(layer, i, n, ls, scratch);
        }
        let Scratch { c, h, .. } = scratch;
        h.resize(n * d, 0.0);
        kernels::layer_norm(c, d, &self.head_ln.g, &self.head_ln.b, self.config.ln_eps as f32, h);
        Ok((0..n)
            .map(|i| {
                kernels::dot(&h[i * d..(i + 1) * d], &self.head_w) + self.head_b + self.w_server * f.server_score[i]
            })
            .collect())
    }

    /// Tokens: item projection plus table rows, into `s` (events) or `c` (candidates).
    fn embed(&self, embeddings: &[f32], rows: usize, ids: &[(&Vec<u32>, usize)], scratch: &mut Scratch, session: bool) {
        let d = self.config.d_model;
        let out = if session { &mut scratch.s } else { &mut scratch.c };
        self.item.forward(embeddings, rows, out);
        for r in 0..rows {
            let row = &mut out[r * d..(r + 1) * d];
            for &(ids, t) in ids {
                let k = ids[r] as usize;
                kernels::axpy(1.0, &self.tables[t][k * d..(k + 1) * d], row);
            }
        }
    }

    fn session_layer(&self, layer: &SessionLayer, l: usize, sc: &mut Scratch) {
        let (d, eps) = (self.config.d_model, self.config.ln_eps as f32);
        let Scratch { s, h, q, k, v, a, o, f, kt, scores, .. } = sc;
        h.resize(l * d, 0.0);
        kernels::layer_norm(s, d, &layer.ln_attn.g, &layer.ln_attn.b, eps, h);
        self.attend(&layer.attn, h, l, None, l, q, k, v, kt, scores, a, o);
        add(s, o);
        kernels::layer_norm(s, d, &layer.ln_ffn.g, &layer.ln_ffn.b, eps, h);
        layer.ffn.fc1.forward(h, l, f);
        kernels::gelu(f);
        layer.ffn.fc2.forward(f, l, o);
        add(s, o);
    }

    fn cand_layer(&self, layer: &CandidateLayer, index: usize, n: usize, l: usize, sc: &mut Scratch) {
        let (d, eps) = (self.config.d_model, self.config.ln_eps as f32);
        let Scratch { c, h, q, k, v, a, o, f, kt, scores, session_kv, .. } = sc;
        h.resize(n * d, 0.0);
        kernels::layer_norm(c, d, &layer.ln_self.g, &layer.ln_self.b, eps, h);
        self.attend(&layer.self_attn, h, n, None, n, q, k, v, kt, scores, a, o);
        add(c, o);
        kernels::layer_norm(c, d, &layer.ln_cross.g, &layer.ln_cross.b, eps, h);
        let (sk, sv) = &session_kv[index];
        self.attend(&layer.cross, h, n, Some((sk, sv)), l, q, k, v, kt, scores, a, o);
        add(c, o);
        kernels::layer_norm(c, d, &layer.ln_ffn.g, &layer.ln_ffn.b, eps, h);
        layer.ffn.fc1.forward(h, n, f);
        kernels::gelu(f);
        layer.ffn.fc2.forward(f, n, o);
        add(c, o);
    }

    /// `o = Attention(x)`: self-attention when `kv` is `None`, else over the given keys/values.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        attn: &Attention,
        x: &[f32],
        tq: usize,
        kv: Option<(&Vec<f32>, &Vec<f32>)>,
        tk: usize,
        q: &mut Vec<f32>,
        k: &mut Vec<f32>,
        v: &mut Vec<f32>,
        kt: &mut Vec<f32>,
        scores: &mut Vec<f32>,
        a: &mut Vec<f32>,
        o: &mut Vec<f32>,
    ) {
        let (d, heads) = (self.config.d_model, self.config.n_heads);
        attn.q.forward(x, tq, q);
        let scale = 1.0 / ((d / heads) as f32).sqrt();
        q.iter_mut().for_each(|x| *x *= scale);
        let (k, v): (&[f32], &[f32]) = match kv {
            Some((k, v)) => (k, v),
            None => {
                attn.k.forward(x, tq, k);
                attn.v.forward(x, tq, v);
                (k, v)
            }
        };
        kt.resize(d * tk, 0.0);
        scores.resize(kernels::QUERY_BLOCK * tk, 0.0);
        a.resize(tq * d, 0.0);
        kernels::attention(q, k, v, tq, tk, d, heads, kt, scores, a);
        attn.o.forward(a, tq, o);
    }

    /// The core alone (tokens already embedded), for the golden fixture: session `l × d`,
    /// candidates `n × d`, server scores `n`.
    pub fn forward_core(&self, session: &[f32], l: usize, cands: &[f32], n: usize, server: &[f32]) -> Vec<f32> {
        let d = self.config.d_model;
        let mut sc = Scratch { s: session.to_vec(), c: cands.to_vec(), ..Default::default() };
        for layer in &self.session_layers {
            self.session_layer(layer, l, &mut sc);
        }
        for layer in &self.cand_layers {
            let (mut k, mut v) = (Vec::new(), Vec::new());
            layer.cross.k.forward(&sc.s, l, &mut k);
            layer.cross.v.forward(&sc.s, l, &mut v);
            sc.session_kv.push((k, v));
        }
        for (i, layer) in self.cand_layers.iter().enumerate() {
            self.cand_layer(layer, i, n, l, &mut sc);
        }
        let mut h = vec![0f32; n * d];
        kernels::layer_norm(&sc.c, d, &self.head_ln.g, &self.head_ln.b, self.config.ln_eps as f32, &mut h);
        (0..n)
            .map(|i| kernels::dot(&h[i * d..(i + 1) * d], &self.head_w) + self.head_b + self.w_server * server[i])
            .collect()
    }
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
