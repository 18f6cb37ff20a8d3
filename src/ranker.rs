//! [`HomeRanker`]: owns the model and the session state; the entry point of the library.
//!
//! `rerank` is fail-open: whatever goes wrong in validation (unless `strict`), featurization or
//! the forward pass, the answer is the server's page exactly, with `fallback` saying why.

use web_time::Instant;

use crate::backend::{AutoChoice, Backend};
use crate::compose::compose;
use crate::error::{Error, Result};
use crate::event::SessionEvent;
use crate::features::Features;
use crate::feedback::apply_negative_feedback;
use crate::manifest::ManifestEntry;
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::{HrsConfig, ModelFile};
use crate::options::RerankOptions;
use crate::page::HomePage;
use crate::result::RerankResult;
use crate::session::{SessionState, DEFAULT_CACHE_ITEMS};

/// Most events accepted by one `observe_all` call; the session keeps only the last `L` anyway.
pub const MAX_EVENTS_PER_CALL: usize = 100_000;

/// What the ranker is running, for `stats()` and the CLI.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankerStats {
    pub model_id: String,
    /// The CPU engine's name (`cpu-simd` or `cpu`), or `gpu` when the setting is `gpu`.
    pub backend: String,
    /// The backend setting: `auto`, `cpu` or `gpu`.
    pub backend_setting: Backend,
    /// The attached GPU adapter (`name (backend, device type)`), if any.
    pub gpu_adapter: Option<String>,
    /// Why the GPU could not be attached or last failed, if it did.
    pub gpu_error: Option<String>,
    /// Reranks scored on the GPU, and GPU forwards that failed and fell back to the CPU.
    pub gpu_calls: u64,
    pub gpu_fallbacks: u64,
    /// What `auto` measured: `[size class, gpu faster]` per page-size class.
    pub auto_choices: Vec<(usize, bool)>,
    pub precision: String,
    pub events_held: usize,
    pub events_resolved: usize,
    pub max_events: usize,
    pub cached_items: usize,
    pub embedding_dim: usize,
}

enum Prepared {
    Done(RerankResult),
    Score(Features),
}

/// What [`HomeRanker::start_rerank`] gives: the result, or a GPU forward still to run.
pub enum Started {
    Done(RerankResult),
    Pending(PendingRerank),
}

/// A rerank waiting for its GPU forward ([`PendingRerank::run`]); it holds the ranker's GPU
/// model until [`HomeRanker::complete_rerank`].
pub struct PendingRerank {
    start: Instant,
    features: Features,
    #[cfg(feature = "gpu")]
    gpu: crate::gpu::GpuModel,
    #[cfg(not(feature = "gpu"))]
    gpu: (),
    /// `auto` measuring: the CPU's scores and time.
    cpu: Option<(Result<Vec<f32>>, f64)>,
    /// The GPU's scores and time.
    outcome: Option<Result<(Vec<f32>, f64)>>,
}

impl PendingRerank {
    /// Runs the GPU forward (never blocks; in the browser it yields to the event loop).
    pub async fn run(&mut self) {
        #[cfg(feature = "gpu")]
        {
            let t = Instant::now();
            let scores = self.gpu.score(&self.features).await;
            self.outcome = Some(scores.map(|s| (s, t.elapsed().as_secs_f64() * 1e3)));
        }
    }
}

/// The on-device reranker: a model plus the session it has observed.
#[derive(Debug)]
pub struct HomeRanker {
    model: CpuModel,
    scratch: Scratch,
    backend: Backend,
    #[cfg(feature = "gpu")]
    gpu: Option<crate::gpu::GpuModel>,
    gpu_error: Option<String>,
    /// `name (backend, device type)` of the attached adapter.
    gpu_adapter: Option<String>,
    gpu_calls: u64,
    gpu_fallbacks: u64,
    auto: AutoChoice,
    model_id: String,
    precision: &'static str,
    session: SessionState,
}

impl HomeRanker {
    /// Loads a model file. The file's own data checksum, architecture, dimensions and feature
    /// schema are checked.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::load(bytes, None)
    }

    /// Like [`HomeRanker::from_bytes`], after checking the bytes against a manifest entry.
    pub fn from_bytes_verified(bytes: &[u8], entry: &ManifestEntry) -> Result<Self> {
        Self::load(bytes, Some(entry))
    }

    /// The general loader, with an optional manifest entry to verify the bytes against.
    pub fn load(bytes: &[u8], entry: Option<&ManifestEntry>) -> Result<Self> {
        if let Some(entry) = entry {
            entry.verify_checksum(bytes)?;
        }
        let file = ModelFile::from_bytes(bytes)?;
        if let Some(entry) = entry {
            entry.verify_model(&file)?;
        }
        Self::from_model_file(&file)
    }

    /// Loads a model file from disk. When a `manifest.json` beside it lists the file, the
    /// file's checksum, schema and dims are checked against it too.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let entry = crate::manifest::Manifest::entry_beside(path)?;
        Self::load(&bytes, entry.as_ref())
    }

    /// A ranker over a parsed model file.
    pub fn from_model_file(file: &ModelFile) -> Result<Self> {
        let model = CpuModel::new(&file.config, &file.tensors)?;
        let session = SessionState::new(model.config().max_events, DEFAULT_CACHE_ITEMS);
        Ok(HomeRanker {
            model,
            scratch: Scratch::default(),
            backend: Backend::Auto,
            #[cfg(feature = "gpu")]
            gpu: None,
            gpu_error: None,
            gpu_adapter: None,
            gpu_calls: 0,
            gpu_fallbacks: 0,
            auto: AutoChoice::default(),
            model_id: file.model_id.clone(),
            precision: file.precision.as_str(),
            session,
        })
    }

    pub fn config(&self) -> &HrsConfig {
        self.model.config()
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Chooses the engine for later reranks (the default is [`Backend::Auto`]).
    pub fn set_backend(&mut self, backend: Backend) {
        self.backend = backend;
    }

    pub fn backend_setting(&self) -> Backend {
        self.backend
    }

    /// Puts `file` (the model this ranker was loaded from) on a GPU, for [`Backend::Gpu`] and
    /// [`Backend::Auto`]. On failure the ranker keeps working on the CPU and `stats().gpuError`
    /// says why. Non-blocking: works in the browser (WebGPU) as natively.
    #[cfg(feature = "gpu")]
    pub async fn attach_gpu(&mut self, file: &ModelFile, settings: &crate::gpu::GpuSettings) -> Result<()> {
        if file.model_id != self.model_id {
            return Err(Error::InvalidModel(format!(
                "attach_gpu got model {}, this ranker runs {}",
                file.model_id, self.model_id
            )));
        }
        match crate::gpu::GpuModel::new(&file.config, &file.tensors, settings).await {
            Ok(gpu) => {
                let a = gpu.adapter();
                self.gpu_adapter = Some(format!("{} ({}, {})", a.name, a.backend, a.device_type));
                self.gpu = Some(gpu);
                self.gpu_error = None;
                self.auto.clear();
                Ok(())
            }
            Err(e) => {
                self.gpu_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Records why no GPU can be used here (the JS package calls this where the page has no
    /// WebGPU); `stats().gpuError` and, with the backend set to `gpu`, each result say it.
    pub fn note_gpu_unavailable(&mut self, reason: &str) {
        self.gpu_error = Some(reason.to_owned());
    }

    /// The attached GPU, if any.
    #[cfg(feature = "gpu")]
    pub fn gpu(&self) -> Option<&crate::gpu::GpuModel> {
        self.gpu.as_ref()
    }

    /// The CPU engine's name: `cpu-simd` when built with wasm simd128, else `cpu`.
    pub fn backend(&self) -> &'static str {
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            "cpu-simd"
        } else {
            "cpu"
        }
    }

    /// Records one session event. A bad event is refused and changes nothing.
    pub fn observe(&mut self, event: &SessionEvent) -> Result<()> {
        event.validate(self.config().embedding_dim)?;
        self.session.push(event);
        Ok(())
    }

    /// Records events in order; all are checked first, so a bad one leaves the session as it was.
    /// Returns how many were recorded.
    pub fn observe_all(&mut self, events: &[SessionEvent]) -> Result<usize> {
        if events.len() > MAX_EVENTS_PER_CALL {
            return Err(Error::InvalidEvent(format!(
                "{} events in one call, at most {MAX_EVENTS_PER_CALL} are accepted",
                events.len()
            )));
        }
        let dim = self.config().embedding_dim;
        for (i, e) in events.iter().enumerate() {
            e.validate(dim).map_err(|err| match err {
                Error::InvalidEvent(m) => Error::InvalidEvent(format!("events[{i}]: {m}")),
                other => other,
            })?;
        }
        // Only the newest `L` can matter; skip pushing the rest.
        let skip = events.len().saturating_sub(self.session.max_events());
        for e in &events[skip..] {
            self.session.push(e);
        }
        Ok(events.len())
    }

    /// Reorders `page` from the session. Never drops or duplicates an item; on any failure the
    /// result is the server order with `fallback` set. Errors only for invalid `options`, or an
    /// invalid page when `options.strict` is set.
    ///
    /// Natively with the `gpu` feature this scores on the GPU per the backend setting (blocking
    /// until the result is read back); in wasm it always scores on the CPU: use
    /// [`HomeRanker::rerank_async`] there for the GPU.
    pub fn rerank(&mut self, page: &HomePage, options: &RerankOptions) -> Result<RerankResult> {
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        return pollster::block_on(self.rerank_async(page, options));
        #[allow(unreachable_code)]
        {
            let start = Instant::now();
            options.validate()?;
            match self.prepare(page) {
                Ok(Prepared::Score(features)) => self.rerank_on_cpu(page, options, &features, start, true),
                Ok(Prepared::Done(result)) => self.conclude(page, options, Ok(result), start),
                Err(e) => self.conclude(page, options, Err(e), start),
            }
        }
    }

    /// [`HomeRanker::rerank`] that can await the GPU: the one to call in the browser.
    pub async fn rerank_async(&mut self, page: &HomePage, options: &RerankOptions) -> Result<RerankResult> {
        match self.start_rerank(page, options)? {
            Started::Done(result) => Ok(result),
            Started::Pending(mut pending) => {
                pending.run().await;
                Ok(self.complete_rerank(page, options, pending))
            }
        }
    }

    /// The first step of an asynchronous rerank: everything up to the GPU forward. The GPU
    /// model moves into the returned [`PendingRerank`] while it works, so the ranker stays usable
    /// meanwhile (another call then scores on the CPU); [`HomeRanker::complete_rerank`] takes it
    /// back. Errors only where `rerank` does.
    pub fn start_rerank(&mut self, page: &HomePage, options: &RerankOptions) -> Result<Started> {
        let start = Instant::now();
        options.validate()?;
        let features = match self.prepare(page) {
            Ok(Prepared::Done(result)) => return self.conclude(page, options, Ok(result), start).map(Started::Done),
            Ok(Prepared::Score(features)) => features,
            Err(e) => return self.conclude(page, options, Err(e), start).map(Started::Done),
        };
        #[cfg(feature = "gpu")]
        if self.backend != Backend::Cpu {
            let measured = self.auto.use_gpu(features.n_cands());
            let measure = self.backend == Backend::Auto && measured.is_none();
            let wanted = self.backend == Backend::Gpu || measured != Some(false);
            if let Some(gpu) = self.gpu.take_if(|_| wanted) {
                // Measuring (`auto`, first page of its size class): the CPU answers, the GPU is timed.
                let cpu = measure.then(|| {
                    let t = Instant::now();
                    let scores = self.model.score(&features, &mut self.scratch);
                    (scores, t.elapsed().as_secs_f64() * 1e3)
                });
                return Ok(Started::Pending(PendingRerank { start, features, gpu, cpu, outcome: None }));
            }
        }
        self.rerank_on_cpu(page, options, &features, start, false).map(Started::Done)
    }

    /// Scores on the CPU and composes; with the backend set to `gpu`, the result says why the
    /// GPU was not used (`synchronous`: a wasm `rerank`, which cannot await it).
    fn rerank_on_cpu(
        &mut self,
        page: &HomePage,
        options: &RerankOptions,
        features: &Features,
        start: Instant,
        synchronous: bool,
    ) -> Result<RerankResult> {
        let scores = self.model.score(features, &mut self.scratch);
        let why = self.why_not_gpu(synchronous);
        let attempt = scores.and_then(|s| self.finish(page, options, features, s, self.backend(), why));
        self.conclude(page, options, attempt, start)
    }

    /// The last step of an asynchronous rerank: the GPU goes back to the ranker, a failed GPU
    /// forward is redone on the CPU, and the page is composed.
    pub fn complete_rerank(
        &mut self,
        page: &HomePage,
        options: &RerankOptions,
        pending: PendingRerank,
    ) -> RerankResult {
        let PendingRerank { start, features, gpu, cpu, outcome } = pending;
        #[cfg(feature = "gpu")]
        {
            self.gpu = Some(gpu);
        }
        #[cfg(not(feature = "gpu"))]
        let _ = gpu;
        let outcome = outcome.unwrap_or_else(|| Err(Error::Gpu("the GPU forward was not run".into())));
        let (scores, backend, why) = match (cpu, outcome) {
            (Some((scores, cpu_ms)), gpu) => {
                let gpu_ms = match gpu {
                    Ok((_, ms)) => ms,
                    Err(e) => {
                        self.gpu_error = Some(e.to_string());
                        f64::INFINITY
                    }
                };
                self.auto.record(features.n_cands(), cpu_ms, gpu_ms);
                (scores, self.backend(), None)
            }
            (None, Ok((scores, _))) => {
                self.gpu_calls += 1;
                (Ok(scores), "gpu", None)
            }
            (None, Err(e)) => {
                self.gpu_fallbacks += 1;
                self.gpu_error = Some(e.to_string());
                (self.model.score(&features, &mut self.scratch), self.backend(), Some(e.to_string()))
            }
        };
        let attempt = scores.and_then(|s| self.finish(page, options, &features, s, backend, why));
        // `conclude` errs only for strict-mode page errors, which `start_rerank` already returned.
        self.conclude(page, options, attempt, start).unwrap_or_else(|e| {
            let mut r = RerankResult::server_order(page);
            r.fallback = Some(e.to_string());
            r
        })
    }

    fn conclude(
        &self,
        page: &HomePage,
        options: &RerankOptions,
        attempt: Result<RerankResult>,
        start: Instant,
    ) -> Result<RerankResult> {
        let mut result = match attempt {
            Ok(result) => result,
            Err(e @ (Error::InvalidPage(_) | Error::EmbeddingDim { .. })) if options.strict => return Err(e),
            Err(e) => {
                let mut r = RerankResult::server_order(page);
                r.fallback = Some(e.to_string());
                r
            }
        };
        result.model_id = self.model_id.clone();
        result.elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
        Ok(result)
    }

    /// Validates the page and builds the model's inputs; `Done` when there is nothing to score.
    fn prepare(&mut self, page: &HomePage) -> Result<Prepared> {
        page.validate(self.config().embedding_dim)?;
        self.session.learn_page(page);
        let features = Features::from_page(page, &self.session, self.config().max_events);
        if features.n_events() == 0 {
            return Ok(Prepared::Done(RerankResult::server_order(page)));
        }
        Ok(Prepared::Score(features))
    }

    /// With the backend set to `gpu`, why a call is scored on the CPU all the same.
    fn why_not_gpu(&self, synchronous: bool) -> Option<String> {
        if self.backend != Backend::Gpu {
            return None;
        }
        // Attached (an adapter is known) but not here: a `PendingRerank` holds it.
        #[cfg(feature = "gpu")]
        let in_flight = self.gpu.is_none() && self.gpu_adapter.is_some();
        #[cfg(not(feature = "gpu"))]
        let in_flight = false;
        Some(if in_flight {
            "the GPU is busy with another rerank_async call (rerankAsync); this one was scored on the CPU".to_owned()
        } else if let Some(e) = &self.gpu_error {
            e.clone()
        } else if !cfg!(feature = "gpu") {
            "built without the gpu feature".to_owned()
        } else if synchronous {
            "the synchronous rerank cannot wait for the GPU in wasm: use rerank_async (rerankAsync)".to_owned()
        } else {
            "no GPU attached".to_owned()
        })
    }

    /// From scores to the result: the finite check, the feedback rule, the layout.
    fn finish(
        &mut self,
        page: &HomePage,
        options: &RerankOptions,
        features: &Features,
        mut scores: Vec<f32>,
        backend: &str,
        backend_fallback: Option<String>,
    ) -> Result<RerankResult> {
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            let id = page.items().nth(i).map(|(_, _, it)| it.id.clone()).unwrap_or_default();
            return Err(Error::NonFiniteScore(id));
        }
        apply_negative_feedback(&mut scores, features, options.negative_feedback);
        let (shelves, removed) = compose(page, &scores, options);
        Ok(RerankResult {
            page_id: page.page_id.clone(),
            shelves,
            removed,
            backend: backend.into(),
            backend_fallback,
            model_id: String::new(),
            events_used: features.n_events(),
            elapsed_ms: 0.0,
            fallback: None,
        })
    }

    /// Wipes every event and every cached embedding.
    pub fn forget(&mut self) {
        self.session.forget();
    }

    pub fn session(&self) -> &SessionState {
        &self.session
    }

    pub fn stats(&self) -> RankerStats {
        RankerStats {
            model_id: self.model_id.clone(),
            backend: if self.backend == Backend::Gpu { "gpu".into() } else { self.backend().into() },
            backend_setting: self.backend,
            gpu_adapter: self.gpu_adapter.clone(),
            gpu_error: self.gpu_error.clone(),
            gpu_calls: self.gpu_calls,
            gpu_fallbacks: self.gpu_fallbacks,
            auto_choices: self.auto.classes(),
            precision: self.precision.into(),
            events_held: self.session.len(),
            events_resolved: self.session.resolved_len(),
            max_events: self.session.max_events(),
            cached_items: self.session.cached_items(),
            embedding_dim: self.config().embedding_dim,
        }
    }
}
