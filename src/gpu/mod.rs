//! The HR-S forward on the GPU through `wgpu`: WebGPU in the browser, Vulkan or GL natively
//! (lavapipe and llvmpipe in CI). Same computation as `model::cpu`; `tests/gpu_parity.rs` holds
//! the two together.
//!
//! Weights are uploaded once ([`weights`]); work buffers grow to the largest page seen and are
//! reused; a forward is one command buffer ([`kernels::Recorder`]) and one asynchronous readback
//! ([`readback`]), so nothing blocks in the browser. Every failure — no adapter, a lost device, a
//! validation error, a readback that times out — is an [`Error::Gpu`], and the ranker then
//! scores that call on the CPU.
//!
//! Matmuls read the int8 weights directly and unpack them in the shader. WGSL's
//! `dot4I8Packed` (packed_4x8_integer_dot_product) would need the activations quantized to
//! int8 too, which moves scores beyond the CPU parity tolerance; the adapter's support is
//! reported in [`GpuModel::adapter`] but not used.

mod kernels;
mod readback;
mod weights;

pub use wgpu;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kernels::{le_bytes, params, Kernel, Pipelines, Recorder, PARAM_SLOT};
use weights::{Gpu, Linear, Norm, Weights};

use crate::error::{Error, Result};
use crate::features::{Features, SIM_FEATURES};
use crate::model::layout::{Attention, CandidateLayer, SessionLayer};
use crate::model::{HrsConfig, RawTensor};

/// Whether a forward can be waited for synchronously: natively (the readback blocks), never in
/// the browser, where only `score` (async) works.
pub const CAN_BLOCK: bool = cfg!(not(target_arch = "wasm32"));

/// Widest attention head the attention shader holds in registers.
const MAX_HEAD_DIM: usize = 64;

/// How to find and use a GPU.
#[derive(Debug, Clone)]
pub struct GpuSettings {
    /// Which wgpu backends may provide the adapter (`WGPU_BACKEND` in the environment narrows
    /// the default).
    pub backends: wgpu::Backends,
    /// Longest wait for a forward's result before the call falls back to the CPU (native only:
    /// in the browser the wait is never blocking).
    pub timeout: Duration,
}

impl Default for GpuSettings {
    fn default() -> Self {
        GpuSettings {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all()),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What the GPU is, for `stats()`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    /// The adapter's name, or its driver's when the name is empty.
    pub name: String,
    /// `vulkan`, `gl`, `webgpu`, ….
    pub backend: String,
    /// `cpu` for software adapters (lavapipe, llvmpipe, SwiftShader).
    pub device_type: String,
    /// Whether WGSL's `dot4I8Packed` is available (not used; see the module docs).
    pub packed_int8_dot: bool,
}

/// Buffers sized for pages of up to `rows` candidates (and the session's `L + 1` tokens).
struct Work {
    rows: usize,
    ev_emb: wgpu::Buffer,
    ev_ids: wgpu::Buffer,
    cand_emb: wgpu::Buffer,
    cand_ids: wgpu::Buffer,
    /// Normalized similarity features `[rows, F]`.
    cand_sim: wgpu::Buffer,
    /// The head's residual terms (`w_server · serverScore + w_sim · z`, computed on the host).
    server: wgpu::Buffer,
    s: wgpu::Buffer,
    c: wgpu::Buffer,
    h: wgpu::Buffer,
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    a: wgpu::Buffer,
    f: wgpu::Buffer,
    cross_kv: Vec<(wgpu::Buffer, wgpu::Buffer)>,
    scores: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// HR-S on a wgpu device.
pub struct GpuModel {
    config: HrsConfig,
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    pipelines: Pipelines,
    weights: Weights,
    uniforms: wgpu::Buffer,
    work: Option<Work>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    timeout: Duration,
    /// Why the device was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
    /// A readback that timed out is still in flight: wait for it before the next forward.
    readback_pending: bool,
}

impl std::fmt::Debug for GpuModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuModel").field("adapter", &self.adapter).finish_non_exhaustive()
    }
}

fn gpu_err(what: &str) -> impl Fn(String) -> Error + '_ {
    move |m| Error::Gpu(format!("{what}: {m}"))
}

impl GpuModel {
    /// Finds an adapter, creates a device and uploads the model. Errors when no adapter exists
    /// or the model does not fit the device.
    pub async fn new(config: &HrsConfig, tensors: &HashMap<String, RawTensor>, settings: &GpuSettings) -> Result<Self> {
        config.validate()?;
        if config.head_dim() > MAX_HEAD_DIM {
            return Err(Error::Gpu(format!("head width {} is over {MAX_HEAD_DIM}", config.head_dim())));
        }
        #[cfg(target_arch = "wasm32")]
        if !browser_has_webgpu() {
            return Err(Error::Gpu("no adapter: this JavaScript environment has no navigator.gpu (WebGPU)".into()));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: settings.backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                if cfg!(target_arch = "wasm32") {
                    Error::Gpu(
                        "no adapter: navigator.gpu.requestAdapter() gave none (WebGPU is off or unsupported here)"
                            .into(),
                    )
                } else {
                    Error::Gpu(format!("no adapter: {e}"))
                }
            })?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: if info.name.is_empty() { info.driver.clone() } else { info.name.clone() },
            backend: info.backend.to_str().to_owned(),
            device_type: format!("{:?}", info.device_type).to_lowercase().replace("virtualgpu", "virtual"),
            packed_int8_dot: instance
                .wgsl_language_features()
                .contains(wgpu::WgslLanguageFeatures::Packed4x8IntegerDotProduct),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("homerank"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("device: {e}")))?;
        let lost = Arc::new(Mutex::new(None));
        let on_lost = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *on_lost.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("device lost ({reason:?}): {message}"));
        });
        // Errors outside an error scope (there should be none) must not panic the host.
        device.on_uncaptured_error(Arc::new(|e| log_uncaptured(&e.to_string())));

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines::new(&device);
        let weights = Weights::upload(&device, config, tensors)?;
        let dispatches = 7 + 10 * config.n_session_layers + 16 * config.n_cand_layers;
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: dispatches as u64 * PARAM_SLOT,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!("setting up the model: {e}")));
        }
        Ok(GpuModel {
            config: config.clone(),
            device,
            queue,
            adapter: summary,
            pipelines,
            weights,
            uniforms,
            work: None,
            timeout: settings.timeout,
            lost,
            readback_pending: false,
        })
    }

    /// The adapter the model was uploaded to (name, wgpu backend, device type).
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The architecture of the model on the GPU.
    pub fn config(&self) -> &HrsConfig {
        &self.config
    }

    /// Destroys the device, as a driver reset or a GPU process crash would; every later forward
    /// fails with [`Error::Gpu`]. For testing the CPU fallback.
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    /// Scores the candidates of one page, in page order (the same contract as
    /// `CpuModel::score`).
    pub async fn score(&mut self, f: &Features) -> Result<Vec<f32>> {
        f.check(&self.config)?;
        let (n, l) = (f.n_cands(), f.n_events());
        if n == 0 {
            return Ok(Vec::new());
        }
        if let Some(why) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(Error::Gpu(why));
        }
        if self.readback_pending {
            self.settle_pending_readback()?;
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        self.ensure_capacity(n);
        let work = self.work.as_ref().expect("ensure_capacity allocates");
        self.write_inputs(work, f);
        let command = self.record(work, n, l)?;
        let submission = self.queue.submit([command]);
        if let Some(e) = oom.pop().await {
            return Err(Error::Gpu(format!("out of memory: {e}")));
        }
        if let Some(e) = scope.pop().await {
            return Err(Error::Gpu(format!("validation: {e}")));
        }
        let staging = &work.staging;
        let mapped = readback::map_read(staging);
        #[cfg(not(target_arch = "wasm32"))]
        {
            let wait = wgpu::PollType::Wait { submission_index: Some(submission), timeout: Some(self.timeout) };
            if let Err(e) = self.device.poll(wait) {
                self.readback_pending = matches!(e, wgpu::PollError::Timeout);
                return Err(Error::Gpu(format!("waiting for the forward: {e}")));
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = submission;
        mapped.await.map_err(gpu_err("reading the scores back"))?;
        let scores = {
            let view = staging.get_mapped_range(..(n * 4) as u64).map_err(|e| Error::Gpu(e.to_string()))?;
            view.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        staging.unmap();
        Ok(scores)
    }

    /// [`GpuModel::score`], waiting for the readback: natively only (see [`CAN_BLOCK`]).
    pub fn score_blocking(&mut self, f: &Features) -> Result<Vec<f32>> {
        #[cfg(not(target_arch = "wasm32"))]
        return pollster::block_on(self.score(f));
        #[cfg(target_arch = "wasm32")]
        {
            let _ = f;
            Err(Error::Gpu("a forward cannot be waited for synchronously in the browser: use score".into()))
        }
    }

    fn settle_pending_readback(&mut self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for an earlier forward: {e}")))?;
        if let Some(work) = &self.work {
            work.staging.unmap();
        }
        self.readback_pending = false;
        Ok(())
    }

    fn ensure_capacity(&mut self, n: usize) {
        if self.work.as_ref().is_some_and(|w| w.rows >= n) {
            return;
        }
        let rows = n.next_power_of_two().max(64);
        let c = &self.config;
        let (d, e, ls) = (c.d_model, c.embedding_dim, c.max_events + 1);
        let tokens = rows.max(ls);
        let buffer = |label: &str, floats: usize, usage: wgpu::BufferUsages| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (floats.max(1) * 4) as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        self.work = Some(Work {
            rows,
            ev_emb: buffer("event embeddings", c.max_events * e, storage),
            ev_ids: buffer("event ids", c.max_events * 4, storage),
            cand_emb: buffer("candidate embeddings", rows * e, storage),
            cand_ids: buffer("candidate ids", rows * 3, storage),
            cand_sim: buffer("candidate similarity", rows * SIM_FEATURES, storage),
            server: buffer("server scores", rows, storage),
            s: buffer("session tokens", ls * d, storage),
            c: buffer("candidate tokens", rows * d, storage),
            h: buffer("normed", tokens * d, storage),
            q: buffer("q", tokens * d, storage),
            k: buffer("k", tokens * d, storage),
            v: buffer("v", tokens * d, storage),
            a: buffer("attention", tokens * d, storage),
            f: buffer("ffn hidden", tokens * c.d_ff, storage),
            cross_kv: (0..c.n_cand_layers)
                .map(|_| (buffer("cross k", ls * d, storage), buffer("cross v", ls * d, storage)))
                .collect(),
            scores: buffer("scores", rows, storage),
            staging: buffer("staging", rows, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
        });
    }

    fn write_inputs(&self, w: &Work, f: &Features) {
        let q = &self.queue;
        q.write_buffer(&w.ev_emb, 0, &le_bytes(&f.event_embeddings));
        let ev_ids: Vec<u32> = (0..f.n_events())
            .flat_map(|i| [f.event_action[i], f.event_dwell[i], f.event_recency[i], f.event_type[i]])
            .collect();
        q.write_buffer(&w.ev_ids, 0, &le_bytes(&ev_ids));
        q.write_buffer(&w.cand_emb, 0, &le_bytes(&f.cand_embeddings));
        let cand_ids: Vec<u32> =
            (0..f.n_cands()).flat_map(|i| [f.cand_type[i], f.cand_rank[i], f.cand_shelf[i]]).collect();
        q.write_buffer(&w.cand_ids, 0, &le_bytes(&cand_ids));
        let (net, mut z, mut residual) = (&self.weights.net, Vec::new(), Vec::new());
        net.sim.normalize(&f.cand_sim, &mut z);
        net.head.residual(&f.server_score, &z, &mut residual);
        q.write_buffer(&w.cand_sim, 0, &le_bytes(&z));
        q.write_buffer(&w.server, 0, &le_bytes(&residual));
        // Session token 0 is the start token; the events follow.
        q.write_buffer(&w.s, 0, &le_bytes(&self.weights.net.tables.bos));
    }

    /// Every dispatch of the forward for `n` candidates and `l` events.
    fn record(&self, w: &Work, n: usize, l: usize) -> Result<wgpu::CommandBuffer> {
        let c = &self.config;
        let d = c.d_model as u32;
        let ls = l + 1;
        let mut r = Recorder::new(&self.device, &self.pipelines, &self.uniforms);
        let (tb, net) = (&self.weights.table_base, &self.weights.net);

        // Tokens: the item projection, then the table rows.
        linear(&mut r, &net.item, &w.ev_emb, &w.s, d, l, 0);
        r.dispatch(
            Kernel::Embed,
            params(&[l as u32, d, 4, d, tb[0], tb[1], tb[2], tb[3]], &[]),
            &[&w.ev_ids, &self.weights.tables, &w.s],
            l as u32 * d,
        );
        linear(&mut r, &net.item, &w.cand_emb, &w.c, 0, n, 0);
        r.dispatch(
            Kernel::Embed,
            params(&[n as u32, d, 3, 0, tb[3], tb[4], tb[5], 0], &[]),
            &[&w.cand_ids, &self.weights.tables, &w.c],
            n as u32 * d,
        );
        linear(&mut r, &net.sim.proj, &w.cand_sim, &w.c, 0, n, ACCUMULATE);

        for layer in &net.session_layers {
            let SessionLayer::<Gpu> { ln_attn, attn, ln_ffn, ffn } = layer;
            self.norm(&mut r, ln_attn, &w.s, &w.h, ls);
            self.self_attention(&mut r, attn, w, &w.s, ls);
            self.norm(&mut r, ln_ffn, &w.s, &w.h, ls);
            linear(&mut r, &ffn.fc1, &w.h, &w.f, 0, ls, GELU);
            linear(&mut r, &ffn.fc2, &w.f, &w.s, 0, ls, ACCUMULATE);
        }
        for (layer, (k, v)) in net.cand_layers.iter().zip(&w.cross_kv) {
            linear(&mut r, &layer.cross_attn.k, &w.s, k, 0, ls, 0);
            linear(&mut r, &layer.cross_attn.v, &w.s, v, 0, ls, 0);
        }
        for (layer, (k, v)) in net.cand_layers.iter().zip(&w.cross_kv) {
            let CandidateLayer { ln_self, self_attn, ln_cross, cross_attn: cross, ln_ffn, ffn } = layer;
            self.norm(&mut r, ln_self, &w.c, &w.h, n);
            self.self_attention(&mut r, self_attn, w, &w.c, n);
            self.norm(&mut r, ln_cross, &w.c, &w.h, n);
            linear(&mut r, &cross.q, &w.h, &w.q, 0, n, 0);
            self.attention(&mut r, &w.q, k, v, &w.a, n, ls);
            linear(&mut r, &cross.o, &w.a, &w.c, 0, n, ACCUMULATE);
            self.norm(&mut r, ln_ffn, &w.c, &w.h, n);
            linear(&mut r, &ffn.fc1, &w.h, &w.f, 0, n, GELU);
            linear(&mut r, &ffn.fc2, &w.f, &w.c, 0, n, ACCUMULATE);
        }
        let head = &net.head;
        r.dispatch(
            Kernel::Head,
            // The residual terms are in `server` already: weight 1.
            params(&[n as u32, d], &[(2, c.ln_eps as f32), (3, head.out_b[0]), (4, 1.0)]),
            &[&w.c, &head.ln.g, &head.ln.b, &self.weights.head_w, &w.server, &w.scores],
            n as u32,
        );
        let bytes = (n * 4) as u64;
        r.finish(&self.queue, |encoder| encoder.copy_buffer_to_buffer(&w.scores, 0, &w.staging, 0, bytes))
    }

    fn norm(&self, r: &mut Recorder, norm: &Norm, x: &wgpu::Buffer, y: &wgpu::Buffer, rows: usize) {
        let p = params(&[rows as u32, self.config.d_model as u32], &[(2, self.config.ln_eps as f32)]);
        r.dispatch(Kernel::LayerNorm, p, &[x, &norm.g, &norm.b, y], rows as u32);
    }

    /// `x += Attention(LN'd tokens in h)` over `rows` tokens attending to each other.
    fn self_attention(&self, r: &mut Recorder, attn: &Attention<Gpu>, w: &Work, x: &wgpu::Buffer, rows: usize) {
        linear(r, &attn.q, &w.h, &w.q, 0, rows, 0);
        linear(r, &attn.k, &w.h, &w.k, 0, rows, 0);
        linear(r, &attn.v, &w.h, &w.v, 0, rows, 0);
        self.attention(r, &w.q, &w.k, &w.v, &w.a, rows, rows);
        linear(r, &attn.o, &w.a, x, 0, rows, ACCUMULATE);
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        r: &mut Recorder,
        q: &wgpu::Buffer,
        k: &wgpu::Buffer,
        v: &wgpu::Buffer,
        out: &wgpu::Buffer,
        queries: usize,
        keys: usize,
    ) {
        let c = &self.config;
        let scale = 1.0 / (c.head_dim() as f32).sqrt();
        let p = params(&[queries as u32, keys as u32, c.d_model as u32, c.n_heads as u32], &[(4, scale)]);
        r.dispatch(Kernel::Attention, p, &[q, k, v, out], (queries * c.n_heads) as u32);
    }
}

const GELU: u32 = 1;
const ACCUMULATE: u32 = 2;

/// `y[y_offset..] (+)= act(x · wᵀ + b)` over `rows` rows (`y_offset` in floats).
#[allow(clippy::too_many_arguments)]
fn linear(r: &mut Recorder, lin: &Linear, x: &wgpu::Buffer, y: &wgpu::Buffer, y_offset: u32, rows: usize, flags: u32) {
    let kernel = if lin.quantized { Kernel::LinearQ8 } else { Kernel::LinearF32 };
    let p = params(&[rows as u32, lin.k, lin.n, flags, 0, y_offset], &[]);
    r.dispatch(kernel, p, &[x, &lin.w, &lin.scales, &lin.b, y], rows as u32 * lin.n);
}

/// wgpu assumes WebGPU in wasm; Node and browsers without it have no `navigator.gpu`.
#[cfg(target_arch = "wasm32")]
fn browser_has_webgpu() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    !navigator.is_undefined()
        && js_sys::Reflect::get(&navigator, &"gpu".into()).is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

fn log_uncaptured(message: &str) {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("homerank gpu: uncaptured error: {message}");
    #[cfg(target_arch = "wasm32")]
    let _ = message;
}
