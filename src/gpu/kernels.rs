//! The compute pipelines (one WGSL file each) and [`Recorder`], which turns a forward into one
//! command buffer: every dispatch gets its own 256-byte slot of one uniform buffer, so a whole
//! forward is one `write_buffer`, one compute pass and one submit.

use crate::error::{Error, Result};
use wgpu::util::DeviceExt;

/// Uniform slot size: the largest `min_uniform_buffer_offset_alignment` WebGPU allows.
pub const PARAM_SLOT: u64 = 256;
/// Invocations per workgroup (every shader uses `@workgroup_size(64)`).
const WORKGROUP: u32 = 64;
/// Workgroups per dimension (the WebGPU default limit); more spill into `y`.
const MAX_GROUPS_X: u32 = 65_535;

#[derive(Debug, Clone, Copy)]
pub enum Kernel {
    LinearQ8,
    LinearF32,
    LayerNorm,
    Attention,
    Embed,
    Head,
}

pub struct Pipelines {
    pipelines: Vec<wgpu::ComputePipeline>,
    layouts: Vec<wgpu::BindGroupLayout>,
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        let module = |label: &str, source: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        };
        let linear = module("linear", include_str!("shaders/linear.wgsl"));
        let layer_norm = module(
            "layer_norm",
            concat!(include_str!("shaders/row_stats.wgsl"), include_str!("shaders/layer_norm.wgsl")),
        );
        let attention = module("attention", include_str!("shaders/attention.wgsl"));
        let embed = module("embed", include_str!("shaders/embed.wgsl"));
        let head = module("head", concat!(include_str!("shaders/row_stats.wgsl"), include_str!("shaders/head.wgsl")));
        let pipeline = |label: &str, module: &wgpu::ShaderModule, constants: &[(&str, f64)]| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
                cache: None,
            })
        };
        // Order matches `Kernel`.
        let pipelines = vec![
            pipeline("linear_q8", &linear, &[("QUANTIZED", 1.0)]),
            pipeline("linear_f32", &linear, &[("QUANTIZED", 0.0)]),
            pipeline("layer_norm", &layer_norm, &[]),
            pipeline("attention", &attention, &[]),
            pipeline("embed", &embed, &[]),
            pipeline("head", &head, &[]),
        ];
        let layouts = pipelines.iter().map(|p| p.get_bind_group_layout(0)).collect();
        Pipelines { pipelines, layouts }
    }

    fn get(&self, kernel: Kernel) -> &wgpu::ComputePipeline {
        &self.pipelines[kernel as usize]
    }

    fn layout(&self, kernel: Kernel) -> &wgpu::BindGroupLayout {
        &self.layouts[kernel as usize]
    }
}

/// Parameters of one dispatch: up to 16 words (u32, or f32 bits), laid out as the shader's
/// `Params` struct.
pub type Params = [u32; 16];

/// Builds `Params` from u32 fields followed by f32 fields at the given word positions.
pub fn params(words: &[u32], floats: &[(usize, f32)]) -> Params {
    let mut p = [0u32; 16];
    p[..words.len()].copy_from_slice(words);
    for &(i, v) in floats {
        p[i] = v.to_bits();
    }
    p
}

struct Op {
    kernel: Kernel,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

/// Records the dispatches of one forward.
pub struct Recorder<'a> {
    device: &'a wgpu::Device,
    pipelines: &'a Pipelines,
    uniforms: &'a wgpu::Buffer,
    params: Vec<Params>,
    ops: Vec<Op>,
    /// Dispatches asked for beyond the uniform buffer's slots (`finish` refuses the forward).
    overflow: usize,
}

impl<'a> Recorder<'a> {
    pub fn new(device: &'a wgpu::Device, pipelines: &'a Pipelines, uniforms: &'a wgpu::Buffer) -> Self {
        Recorder { device, pipelines, uniforms, params: Vec::new(), ops: Vec::new(), overflow: 0 }
    }

    /// One dispatch of `kernel` over `threads` invocations, with `buffers` at bindings 1, 2, ….
    pub fn dispatch(&mut self, kernel: Kernel, params: Params, buffers: &[&wgpu::Buffer], threads: u32) {
        let slot = self.params.len() as u64;
        if (slot + 1) * PARAM_SLOT > self.uniforms.size() {
            self.overflow += 1;
            return;
        }
        self.params.push(params);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.uniforms,
                offset: slot * PARAM_SLOT,
                size: wgpu::BufferSize::new(PARAM_SLOT),
            }),
        }];
        entries.extend(
            buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() }),
        );
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: self.pipelines.layout(kernel),
            entries: &entries,
        });
        let groups = threads.div_ceil(WORKGROUP).max(1);
        let x = groups.min(MAX_GROUPS_X);
        self.ops.push(Op { kernel, bind_group, groups: (x, groups.div_ceil(x)) });
    }

    /// Encodes every dispatch, then `after` (copies), into one command buffer; an error when the
    /// forward recorded more dispatches than the uniform buffer has slots for.
    pub fn finish(
        self,
        queue: &wgpu::Queue,
        after: impl FnOnce(&mut wgpu::CommandEncoder),
    ) -> Result<wgpu::CommandBuffer> {
        if self.overflow > 0 {
            return Err(Error::Gpu(format!(
                "the forward records {} dispatches, the parameter buffer has {} slots",
                self.params.len() + self.overflow,
                self.uniforms.size() / PARAM_SLOT
            )));
        }
        let bytes: Vec<u8> = self
            .params
            .iter()
            .flat_map(|p| {
                let mut slot = vec![0u8; PARAM_SLOT as usize];
                for (i, w) in p.iter().enumerate() {
                    slot[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
                }
                slot
            })
            .collect();
        queue.write_buffer(self.uniforms, 0, &bytes);
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("hr-s") });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("hr-s forward"),
                timestamp_writes: None,
            });
            for op in &self.ops {
                pass.set_pipeline(self.pipelines.get(op.kernel));
                pass.set_bind_group(0, &op.bind_group, &[]);
                pass.dispatch_workgroups(op.groups.0, op.groups.1, 1);
            }
        }
        after(&mut encoder);
        Ok(encoder.finish())
    }
}

/// A storage buffer holding `data`.
pub fn upload<T: Word>(device: &wgpu::Device, label: &str, data: &[T]) -> wgpu::Buffer {
    let mut contents = le_bytes(data);
    // Zero-length bindings are invalid: keep at least one word.
    if contents.is_empty() {
        contents = vec![0u8; 4];
    }
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &contents,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    })
}

/// A 32-bit value as buffers hold it.
pub trait Word: Copy {
    fn to_le(self) -> [u8; 4];
}

impl Word for u32 {
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
}

impl Word for f32 {
    fn to_le(self) -> [u8; 4] {
        self.to_le_bytes()
    }
}

/// Little-endian bytes of a slice of words (what `write_buffer` takes).
pub fn le_bytes<T: Word>(data: &[T]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le()).collect()
}
