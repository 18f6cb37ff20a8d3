//! The HR-S layout, written once: which tensors the model has, their names, shapes and kinds,
//! and how they group into layers. Every engine — the CPU engine (`model::cpu`), the candle
//! model (`model::hrs`, training and the reference) and the GPU (`gpu`) — loads its weights
//! through [`Hrs::load`], and [`HrsConfig::tensor_specs`] is the same walk with a source that
//! only records. A tensor name is written here and nowhere else; the forward passes stay per
//! engine, as methods on these structs with the engine's weight types.
//!
//! ```text
//! embed.{action,dwell,recency,type,rank,shelf}  lookup tables [rows, d]
//! embed.bos                                     the session-start token [1, d]
//! embed.item                                    Linear(E → d), events and candidates
//! sim.{mean,scale} [F], sim.proj                z = (x − mean)·scale of the candidates'
//!                                               similarity features; Linear(F → d) adds z
//!                                               to the candidate tokens
//! sess{l}.{ln_attn, attn.{q,k,v,o}, ln_ffn, ffn.{fc1,fc2}}
//! cand{l}.{ln_self, self.{q,k,v,o}, ln_cross, cross.{q,k,v,o}, ln_ffn, ffn.{fc1,fc2}}
//! head.{ln, out.w [1, d], out.b [1], w_server [1], w_sim [F]}
//! ```
//!
//! The pattern is candle's quantized models (`quantized_qwen3.rs`): each layer struct loads its
//! own tensors from one builder, so a new tensor is one field and one line here.

use super::config::{HrsConfig, TensorKind, TensorSpec};
use crate::error::{Error, Result};
use crate::event::Action;
use crate::features::{DWELL_BUCKETS, RANK_BUCKETS, RECENCY_BUCKETS, SHELF_BUCKETS, SIM_FEATURES};
use crate::page::ItemType;

/// What an engine holds for each kind of tensor.
pub trait Weights {
    /// A linear layer: weight `[out, in]` and bias `[out]`.
    type Linear;
    /// A LayerNorm: gain and shift `[d]`.
    type Norm;
    /// Any other tensor: a lookup table, a vector or a scalar (always f32 in files).
    type Vector;
}

/// Where an engine's weights come from: each call names a tensor (or the prefix of a linear
/// layer or norm) and gives the shape the layout expects, which the source checks.
pub trait WeightSource {
    type Weights: Weights;
    /// `{name}.w` `[out, inp]` (a matmul weight) and `{name}.b` `[out]`.
    fn linear(&mut self, name: &str, inp: usize, out: usize) -> Result<<Self::Weights as Weights>::Linear>;
    /// `{name}.g` and `{name}.b`, `[d]` each.
    fn norm(&mut self, name: &str, d: usize) -> Result<<Self::Weights as Weights>::Norm>;
    /// A plain f32 tensor of `shape`.
    fn vector(&mut self, name: &str, shape: &[usize]) -> Result<<Self::Weights as Weights>::Vector>;
}

/// The lookup tables and the session-start token.
pub struct Tables<W: Weights> {
    pub action: W::Vector,
    pub dwell: W::Vector,
    pub recency: W::Vector,
    /// Item type, shared by events and candidates.
    pub item_type: W::Vector,
    pub rank: W::Vector,
    pub shelf: W::Vector,
    /// The learned session-start token (feature schema 2; see `model::hrs`).
    pub bos: W::Vector,
}

/// The candidates' similarity features (`features::similarity`) into the model: normalized
/// with statistics fixed at training time, projected into the candidate tokens.
pub struct Similarity<W: Weights> {
    pub mean: W::Vector,
    /// `1 / sd`.
    pub scale: W::Vector,
    /// `Linear(F → d)`.
    pub proj: W::Linear,
}

/// Multi-head attention projections.
pub struct Attention<W: Weights> {
    pub q: W::Linear,
    pub k: W::Linear,
    pub v: W::Linear,
    pub o: W::Linear,
}

/// Position-wise feed-forward: `fc2(GELU(fc1(x)))`.
pub struct Ffn<W: Weights> {
    pub fc1: W::Linear,
    pub fc2: W::Linear,
}

/// Pre-LN self-attention block over the session tokens.
pub struct SessionLayer<W: Weights> {
    pub ln_attn: W::Norm,
    pub attn: Attention<W>,
    pub ln_ffn: W::Norm,
    pub ffn: Ffn<W>,
}

/// Pre-LN candidate block: set-wise self-attention, cross-attention to the session, FFN.
pub struct CandidateLayer<W: Weights> {
    pub ln_self: W::Norm,
    pub self_attn: Attention<W>,
    pub ln_cross: W::Norm,
    pub cross_attn: Attention<W>,
    pub ln_ffn: W::Norm,
    pub ffn: Ffn<W>,
}

/// `score = out(LN(c)) + w_server · serverScore + w_sim · z`: the two residual terms keep the
/// server's order and a linear model of the similarity features within reach of the model from
/// its first training step.
pub struct Head<W: Weights> {
    pub ln: W::Norm,
    /// `[1, d]`: one output row gains nothing from quantization, so it is a plain tensor.
    pub out_w: W::Vector,
    pub out_b: W::Vector,
    pub w_server: W::Vector,
    pub w_sim: W::Vector,
}

/// The whole network.
pub struct Hrs<W: Weights> {
    pub tables: Tables<W>,
    pub item: W::Linear,
    pub sim: Similarity<W>,
    pub session_layers: Vec<SessionLayer<W>>,
    pub cand_layers: Vec<CandidateLayer<W>>,
    pub head: Head<W>,
}

impl<W: Weights> Hrs<W> {
    /// Loads every tensor of `config`'s model from `source`, in file order.
    pub fn load<S: WeightSource<Weights = W>>(config: &HrsConfig, source: &mut S) -> Result<Self> {
        let (d, f, e) = (config.d_model, config.d_ff, config.embedding_dim);
        Ok(Hrs {
            tables: Tables {
                action: source.vector("embed.action", &[Action::COUNT, d])?,
                dwell: source.vector("embed.dwell", &[DWELL_BUCKETS, d])?,
                recency: source.vector("embed.recency", &[RECENCY_BUCKETS, d])?,
                item_type: source.vector("embed.type", &[ItemType::COUNT, d])?,
                rank: source.vector("embed.rank", &[RANK_BUCKETS, d])?,
                shelf: source.vector("embed.shelf", &[SHELF_BUCKETS, d])?,
                bos: source.vector("embed.bos", &[1, d])?,
            },
            item: source.linear("embed.item", e, d)?,
            sim: Similarity {
                mean: source.vector("sim.mean", &[SIM_FEATURES])?,
                scale: source.vector("sim.scale", &[SIM_FEATURES])?,
                proj: source.linear("sim.proj", SIM_FEATURES, d)?,
            },
            session_layers: (0..config.n_session_layers)
                .map(|l| {
                    let name = |part: &str| format!("sess{l}.{part}");
                    Ok(SessionLayer {
                        ln_attn: source.norm(&name("ln_attn"), d)?,
                        attn: Attention::load(source, &name("attn"), d)?,
                        ln_ffn: source.norm(&name("ln_ffn"), d)?,
                        ffn: Ffn::load(source, &name("ffn"), d, f)?,
                    })
                })
                .collect::<Result<_>>()?,
            cand_layers: (0..config.n_cand_layers)
                .map(|l| {
                    let name = |part: &str| format!("cand{l}.{part}");
                    Ok(CandidateLayer {
                        ln_self: source.norm(&name("ln_self"), d)?,
                        self_attn: Attention::load(source, &name("self"), d)?,
                        ln_cross: source.norm(&name("ln_cross"), d)?,
                        cross_attn: Attention::load(source, &name("cross"), d)?,
                        ln_ffn: source.norm(&name("ln_ffn"), d)?,
                        ffn: Ffn::load(source, &name("ffn"), d, f)?,
                    })
                })
                .collect::<Result<_>>()?,
            head: Head {
                ln: source.norm("head.ln", d)?,
                out_w: source.vector("head.out.w", &[1, d])?,
                out_b: source.vector("head.out.b", &[1])?,
                w_server: source.vector("head.w_server", &[1])?,
                w_sim: source.vector("head.w_sim", &[SIM_FEATURES])?,
            },
        })
    }
}

impl<W: Weights> Attention<W> {
    fn load<S: WeightSource<Weights = W>>(source: &mut S, name: &str, d: usize) -> Result<Self> {
        Ok(Attention {
            q: source.linear(&format!("{name}.q"), d, d)?,
            k: source.linear(&format!("{name}.k"), d, d)?,
            v: source.linear(&format!("{name}.v"), d, d)?,
            o: source.linear(&format!("{name}.o"), d, d)?,
        })
    }
}

impl<W: Weights> Ffn<W> {
    fn load<S: WeightSource<Weights = W>>(source: &mut S, name: &str, d: usize, f: usize) -> Result<Self> {
        Ok(Ffn { fc1: source.linear(&format!("{name}.fc1"), d, f)?, fc2: source.linear(&format!("{name}.fc2"), f, d)? })
    }
}

/// Host-side arithmetic of the engines whose plain tensors live on the host (CPU and GPU).
impl<W: Weights<Vector = Vec<f32>>> Similarity<W> {
    /// `out = (raw − mean) · scale`, row by row (`raw` is `[N, F]`).
    pub fn normalize(&self, raw: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            raw.chunks_exact(SIM_FEATURES)
                .flat_map(|row| row.iter().zip(&self.mean).zip(&self.scale).map(|((x, m), s)| (x - m) * s)),
        );
    }
}

impl<W: Weights<Vector = Vec<f32>>> Head<W> {
    /// The head's residual terms per candidate: `w_server · serverScore + w_sim · z`.
    pub fn residual(&self, server_score: &[f32], z: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            server_score
                .iter()
                .zip(z.chunks_exact(SIM_FEATURES))
                .map(|(s, z)| self.w_server[0] * s + z.iter().zip(&self.w_sim).map(|(a, b)| a * b).sum::<f32>()),
        );
    }
}

/// The layout with nothing behind it: what [`SpecRecorder`] builds.
pub(crate) struct Specs;

impl Weights for Specs {
    type Linear = ();
    type Norm = ();
    type Vector = ();
}

/// A source that only writes down what is asked for: [`HrsConfig::tensor_specs`].
#[derive(Default)]
pub(crate) struct SpecRecorder(pub Vec<TensorSpec>);

impl SpecRecorder {
    fn push(&mut self, name: String, shape: &[usize], kind: TensorKind) {
        self.0.push(TensorSpec { name, shape: shape.to_vec(), kind });
    }
}

impl WeightSource for SpecRecorder {
    type Weights = Specs;

    fn linear(&mut self, name: &str, inp: usize, out: usize) -> Result<()> {
        self.push(format!("{name}.w"), &[out, inp], TensorKind::Matmul);
        self.push(format!("{name}.b"), &[out], TensorKind::Plain);
        Ok(())
    }

    fn norm(&mut self, name: &str, d: usize) -> Result<()> {
        self.push(format!("{name}.g"), &[d], TensorKind::Plain);
        self.push(format!("{name}.b"), &[d], TensorKind::Plain);
        Ok(())
    }

    fn vector(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        self.push(name.to_owned(), shape, TensorKind::Plain);
        Ok(())
    }
}

/// The shape check every source makes: the tensor `name` must have `expected`.
pub(crate) fn check_shape(name: &str, got: &[usize], expected: &[usize]) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::TensorShape { name: name.to_owned(), expected: expected.to_vec(), got: got.to_vec() })
    }
}

/// A tensor the layout asks for that the weights do not have.
pub(crate) fn missing(name: &str) -> Error {
    Error::MissingTensor(name.to_owned())
}
