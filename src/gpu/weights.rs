//! HR-S weights on the GPU, uploaded once per model. Q8_0 matmul weights stay int8 (packed four
//! to a word, one f32 scale per block of 32); everything else is f32.

use std::collections::HashMap;

use super::kernels::upload;
use crate::error::{Error, Result};
use crate::model::gguf::TensorType;
use crate::model::quant::{split_q8_0, BLOCK};
use crate::model::{HrsConfig, RawTensor};

pub struct Linear {
    pub w: wgpu::Buffer,
    pub scales: wgpu::Buffer,
    pub b: wgpu::Buffer,
    pub k: u32,
    pub n: u32,
    pub quantized: bool,
}

pub struct Norm {
    pub g: wgpu::Buffer,
    pub b: wgpu::Buffer,
}

pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
}

pub struct Ffn {
    pub fc1: Linear,
    pub fc2: Linear,
}

pub struct SessionLayer {
    pub ln_attn: Norm,
    pub attn: Attention,
    pub ln_ffn: Norm,
    pub ffn: Ffn,
}

pub struct CandidateLayer {
    pub ln_self: Norm,
    pub self_attn: Attention,
    pub ln_cross: Norm,
    pub cross: Attention,
    pub ln_ffn: Norm,
    pub ffn: Ffn,
}

/// Order of the lookup tables in [`Weights::tables`].
pub const TABLES: [&str; 6] =
    ["embed.action", "embed.dwell", "embed.recency", "embed.type", "embed.rank", "embed.shelf"];

pub struct Weights {
    /// The six lookup tables, concatenated; `table_base[t]` is where table `t` starts (floats).
    pub tables: wgpu::Buffer,
    pub table_base: [u32; 6],
    pub table_rows: [usize; 6],
    pub bos: Vec<f32>,
    pub item: Linear,
    pub session_layers: Vec<SessionLayer>,
    pub cand_layers: Vec<CandidateLayer>,
    pub head_ln: Norm,
    pub head_w: wgpu::Buffer,
    pub head_b: f32,
    pub w_server: f32,
}

impl Weights {
    pub fn upload(device: &wgpu::Device, config: &HrsConfig, tensors: &HashMap<String, RawTensor>) -> Result<Self> {
        let raw = |name: &str| -> Result<&RawTensor> {
            tensors.get(name).ok_or_else(|| Error::InvalidModel(format!("tensor '{name}' is missing")))
        };
        let f32s = |name: &str| -> Result<Vec<f32>> { Ok(raw(name)?.to_f32()) };
        let plain = |name: &str| -> Result<wgpu::Buffer> { Ok(upload(device, name, &f32s(name)?)) };
        let linear = |name: &str| -> Result<Linear> {
            let w = raw(&format!("{name}.w"))?;
            let b = f32s(&format!("{name}.b"))?;
            let (n, k) = (b.len(), w.shape.get(1).copied().unwrap_or(0));
            if w.shape != [n, k] {
                return Err(Error::InvalidModel(format!("tensor '{name}.w' has shape {:?}", w.shape)));
            }
            let quantized = w.dtype == TensorType::Q8_0 && k % BLOCK == 0;
            let (words, scales) = if quantized {
                let (scales, qs) = split_q8_0(&w.data);
                let words =
                    qs.chunks_exact(4).map(|c| u32::from_le_bytes([c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8]));
                (words.collect::<Vec<u32>>(), scales)
            } else {
                (w.to_f32().iter().map(|v| v.to_bits()).collect(), Vec::new())
            };
            Ok(Linear {
                w: upload(device, &format!("{name}.w"), &words),
                scales: upload(device, &format!("{name}.scales"), &scales),
                b: upload(device, &format!("{name}.b"), &b),
                k: k as u32,
                n: n as u32,
                quantized,
            })
        };
        let norm = |name: &str| -> Result<Norm> {
            Ok(Norm { g: plain(&format!("{name}.g"))?, b: plain(&format!("{name}.b"))? })
        };
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
        let mut table_values = Vec::new();
        let (mut table_base, mut table_rows) = ([0u32; 6], [0usize; 6]);
        for (t, name) in TABLES.iter().enumerate() {
            let values = f32s(name)?;
            table_base[t] = table_values.len() as u32;
            table_rows[t] = values.len() / config.d_model;
            table_values.extend(values);
        }
        Ok(Weights {
            tables: upload(device, "embed tables", &table_values),
            table_base,
            table_rows,
            bos: f32s("embed.bos")?,
            item: linear("embed.item")?,
            session_layers: (0..config.n_session_layers)
                .map(|l| {
                    Ok(SessionLayer {
                        ln_attn: norm(&format!("sess{l}.ln_attn"))?,
                        attn: attention(&format!("sess{l}.attn"))?,
                        ln_ffn: norm(&format!("sess{l}.ln_ffn"))?,
                        ffn: ffn(&format!("sess{l}.ffn"))?,
                    })
                })
                .collect::<Result<_>>()?,
            cand_layers: (0..config.n_cand_layers)
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
                .collect::<Result<_>>()?,
            head_ln: norm("head.ln")?,
            head_w: plain("head.out.w")?,
            head_b: f32s("head.out.b")?[0],
            w_server: f32s("head.w_server")?[0],
        })
    }
}
