//! HR-S weights on the GPU, uploaded once per model. Q8_0 matmul weights stay int8 (packed four
//! to a word, one f32 scale per block of 32); everything else is f32.

use std::collections::HashMap;

use super::kernels::upload;
use crate::error::Result;
use crate::model::file::checked_tensor;
use crate::model::gguf::TensorType;
use crate::model::layout::{self, Hrs};
use crate::model::quant::{split_q8_0, BLOCK};
use crate::model::{HrsConfig, RawTensor};

/// The GPU's weights: buffers on the device; plain tensors stay on the host until [`Weights`]
/// places them.
pub struct Gpu;

impl layout::Weights for Gpu {
    type Linear = Linear;
    type Norm = Norm;
    type Vector = Vec<f32>;
}

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

/// Model file tensors uploaded as they are loaded.
struct GpuSource<'a> {
    device: &'a wgpu::Device,
    tensors: &'a HashMap<String, RawTensor>,
}

impl GpuSource<'_> {
    fn upload(&self, name: &str, shape: &[usize]) -> Result<wgpu::Buffer> {
        Ok(upload(self.device, name, &checked_tensor(self.tensors, name, shape)?.to_f32()))
    }
}

impl layout::WeightSource for GpuSource<'_> {
    type Weights = Gpu;

    fn linear(&mut self, name: &str, k: usize, n: usize) -> Result<Linear> {
        let w_name = format!("{name}.w");
        let w = checked_tensor(self.tensors, &w_name, &[n, k])?;
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
            w: upload(self.device, &w_name, &words),
            scales: upload(self.device, &format!("{name}.scales"), &scales),
            b: self.upload(&format!("{name}.b"), &[n])?,
            k: k as u32,
            n: n as u32,
            quantized,
        })
    }

    fn norm(&mut self, name: &str, d: usize) -> Result<Norm> {
        Ok(Norm { g: self.upload(&format!("{name}.g"), &[d])?, b: self.upload(&format!("{name}.b"), &[d])? })
    }

    fn vector(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        Ok(checked_tensor(self.tensors, name, shape)?.to_f32())
    }
}

/// HR-S on the device: the layers' buffers, the lookup tables in one buffer (the embed shader
/// reads them by offset), and the head's output row.
pub struct Weights {
    pub net: Hrs<Gpu>,
    pub tables: wgpu::Buffer,
    /// Where each table starts in `tables` (floats), in the embed shader's order: action, dwell,
    /// recency, type, rank, shelf.
    pub table_base: [u32; 6],
    pub head_w: wgpu::Buffer,
}

impl Weights {
    pub fn upload(device: &wgpu::Device, config: &HrsConfig, tensors: &HashMap<String, RawTensor>) -> Result<Self> {
        let net = Hrs::load(config, &mut GpuSource { device, tensors })?;
        let t = &net.tables;
        let mut table_values = Vec::new();
        let mut table_base = [0u32; 6];
        for (base, values) in
            table_base.iter_mut().zip([&t.action, &t.dwell, &t.recency, &t.item_type, &t.rank, &t.shelf])
        {
            *base = table_values.len() as u32;
            table_values.extend_from_slice(values);
        }
        Ok(Weights {
            tables: upload(device, "embed tables", &table_values),
            table_base,
            head_w: upload(device, "head.out.w", &net.head.out_w),
            net,
        })
    }
}
