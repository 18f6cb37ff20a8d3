//! [`HomeRanker`]: owns the model and the session state; the entry point of the library.
//!
//! `rerank` is fail-open: whatever goes wrong in validation (unless `strict`), featurization or
//! the forward pass, the answer is the server's page exactly, with `fallback` saying why.

use web_time::Instant;

use crate::backend::{Backend, GpuState, Plan, Settled};
use crate::compose::compose;
use crate::error::{Error, Result};
use crate::event::SessionEvent;
use crate::experiment::{Assignment, Experiment};
use crate::features::Features;
use crate::feedback::apply_negative_feedback;
use crate::gpu::{self, GpuModel, GpuSettings};
use crate::manifest::ManifestEntry;
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::{HrsConfig, ModelFile};
use crate::options::RerankOptions;
use crate::page::HomePage;
use crate::prepared_page::PageRef;
use crate::result::{RemovedItem, RerankResult, ShelfResult};
use crate::session::{SessionState, DEFAULT_CACHE_ITEMS};

/// Most events accepted by one `observe_all` call; the session keeps only the last `L` anyway.
pub const MAX_EVENTS_PER_CALL: usize = 100_000;

/// What the ranker is running, for `stats()` and the CLI.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankerStats {
    /// The loaded model, `name@sha256:<first 12 hex digits of the file's SHA-256>`.
    pub model_id: String,
    /// The CPU engine's name (`cpu-simd` or `cpu`), or `gpu` when the setting is `gpu`.
    pub backend: String,
    /// The backend setting: `auto`, `cpu` or `gpu`.
    pub backend_setting: Backend,
    /// The attached GPU adapter (`name (backend, device type)`), if any.
    pub gpu_adapter: Option<String>,
    /// Why the GPU could not be attached or last failed, if it did.
    pub gpu_error: Option<String>,
    /// Reranks scored on the GPU.
    pub gpu_calls: u64,
    /// GPU forwards that failed, the page then scored on the CPU. `auto`'s measuring calls
    /// count in neither this nor `gpuCalls`.
    pub gpu_fallbacks: u64,
    /// What `auto` measured: `[size class, gpu faster]` per page-size class.
    pub auto_choices: Vec<(usize, bool)>,
    /// The model's matmul weight format: `f32` or `q8_0`.
    pub precision: String,
    /// Session events held, at most `maxEvents`.
    pub events_held: usize,
    /// Held events whose item embedding is known (from the event or from a page seen since);
    /// only these reach the model.
    pub events_resolved: usize,
    /// Most events the session holds: the model's `max_events` (L, 64 for `homerank-s`).
    pub max_events: usize,
    /// Item embeddings cached from pages and events, for resolving later events (at most 8,192).
    pub cached_items: usize,
    /// Values per item embedding the model expects (E); every page's `embeddingDim` must equal it.
    pub embedding_dim: usize,
    /// Earlier sessions' events held for the mid-term context (`HomeRanker::set_mid_term`).
    pub mid_term_events: usize,
    /// Most earlier events held; 0: the mid-term context is off (the default).
    pub mid_term_capacity: usize,
}

/// What [`HomeRanker::start_rerank`] gives: the result, or a GPU forward still to run.
pub enum Started {
    /// Finished without the GPU (CPU scoring, nothing to score, or a fallback).
    Done(RerankResult),
    /// The GPU forward is to run: [`PendingRerank::run`], then [`HomeRanker::complete_rerank`].
    Pending(PendingRerank),
}

/// A rerank waiting for its GPU forward ([`PendingRerank::run`]); it holds the ranker's GPU
/// model until [`HomeRanker::complete_rerank`].
pub struct PendingRerank {
    start: Instant,
    /// Boxed: it keeps `Started`'s variants of similar size.
    policy: Box<Policy>,
    features: Features,
    gpu: GpuModel,
    /// `auto` measuring: the CPU's scores and time.
    cpu: Option<(Result<Vec<f32>>, f64)>,
    /// The GPU's scores and time, once run.
    outcome: Option<Result<(Vec<f32>, f64)>>,
}

impl PendingRerank {
    /// Runs the GPU forward (never blocks; in the browser it yields to the event loop).
    pub async fn run(&mut self) {
        let t = Instant::now();
        let scores = self.gpu.score(&self.features).await;
        self.outcome = Some(scores.map(|s| (s, elapsed_ms(t))));
    }
}

/// Scores and where they came from.
struct Scored {
    scores: Result<Vec<f32>>,
    backend: &'static str,
    /// With the setting `gpu`, why the CPU scored.
    backend_fallback: Option<String>,
}

/// How one rerank is served: the options in force, the experiment's arm, and whether the model
/// runs at all.
struct Policy {
    /// The call's options with the arm's applied.
    options: RerankOptions,
    assignment: Option<Assignment>,
    serve: Serve,
}

enum Serve {
    /// The model ranks the page.
    Model,
    /// The server's order (holdback, kill switch, or the arm's model is not loaded, then with
    /// the reason for `fallback`).
    ServerOrder(Option<String>),
}

/// The experiment set on a ranker, with its unit's arm computed once.
#[derive(Debug)]
struct Running {
    experiment: Experiment,
    arm: usize,
    assignment: Assignment,
}

/// The on-device reranker: a model plus the session it has observed.
#[derive(Debug)]
pub struct HomeRanker {
    model: CpuModel,
    scratch: Scratch,
    gpu: GpuState,
    model_id: String,
    precision: &'static str,
    session: SessionState,
    experiment: Option<Running>,
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
        let file = match entry {
            Some(entry) => {
                entry.verify_checksum(bytes)?;
                ModelFile::from_checked_bytes(bytes, &entry.sha256)?
            }
            None => ModelFile::from_bytes(bytes)?,
        };
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
            gpu: GpuState::default(),
            model_id: file.model_id.clone(),
            precision: file.precision.as_str(),
            session,
            experiment: None,
        })
    }

    /// The loaded model's architecture (dims, `max_events`, feature schema).
    pub fn config(&self) -> &HrsConfig {
        self.model.config()
    }

    /// `name@sha256:<first 12 hex digits of the file's SHA-256>`, as in every result's `modelId`.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Chooses the engine for later reranks (the default is [`Backend::Cpu`]).
    pub fn set_backend(&mut self, backend: Backend) {
        self.gpu.setting = backend;
    }

    /// The backend setting ([`HomeRanker::set_backend`]); [`Backend::Cpu`] until changed.
    pub fn backend_setting(&self) -> Backend {
        self.gpu.setting
    }

    /// Puts `file` (the model this ranker was loaded from) on a GPU, for [`Backend::Gpu`] and
    /// [`Backend::Auto`]. On failure — no adapter, no WebGPU, a build without the `gpu` feature —
    /// the ranker keeps working on the CPU and `stats().gpuError` says why. Non-blocking: works
    /// in the browser (WebGPU) as natively.
    pub async fn attach_gpu(&mut self, file: &ModelFile, settings: &GpuSettings) -> Result<()> {
        if file.model_id != self.model_id {
            return Err(Error::InvalidModel(format!(
                "attach_gpu got model {}, this ranker runs {}",
                file.model_id, self.model_id
            )));
        }
        self.gpu.attach(file, settings).await
    }

    /// The attached GPU, if any (absent while an asynchronous rerank holds it).
    pub fn gpu(&self) -> Option<&GpuModel> {
        self.gpu.model()
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
    /// With the backend set to `gpu` or `auto` and a GPU attached, this waits for the GPU
    /// natively; in the browser it scores on the CPU (use [`HomeRanker::rerank_async`] there).
    ///
    /// `page` is a [`HomePage`] or a [`PreparedPage`](crate::PreparedPage) (the same result,
    /// with the page's own part of the features computed once for all its reranks).
    pub fn rerank<'p>(&mut self, page: impl Into<PageRef<'p>>, options: &RerankOptions) -> Result<RerankResult> {
        let (input, page) = split(page);
        let start = Instant::now();
        let policy = self.policy(options)?;
        if let Serve::ServerOrder(reason) = &policy.serve {
            return self.serve_server_order(page, &policy, reason.clone(), start);
        }
        let options = &policy.options;
        let composed = self.features(input).and_then(|features| {
            let Some(features) = features else { return Ok(None) };
            let scored = match self.gpu.plan(features.n_cands(), gpu::CAN_BLOCK) {
                Plan::Cpu(why) => self.score_on_cpu(&features, why),
                Plan::Gpu { mut model, measure } => {
                    let cpu = measure.then(|| self.timed_cpu_scores(&features));
                    let t = Instant::now();
                    let gpu = model.score_blocking(&features).map(|s| (s, elapsed_ms(t)));
                    self.settle(model, &features, cpu, gpu)
                }
            };
            self.compose(page, options, &features, scored).map(Some)
        });
        self.conclude(page, &policy, composed, start)
    }

    /// [`HomeRanker::rerank`] that can await the GPU: the one to call in the browser.
    pub async fn rerank_async<'p>(
        &mut self,
        page: impl Into<PageRef<'p>>,
        options: &RerankOptions,
    ) -> Result<RerankResult> {
        let (input, page) = split(page);
        match self.start_rerank(input, options)? {
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
    pub fn start_rerank<'p>(&mut self, page: impl Into<PageRef<'p>>, options: &RerankOptions) -> Result<Started> {
        let (input, page) = split(page);
        let start = Instant::now();
        let policy = self.policy(options)?;
        if let Serve::ServerOrder(reason) = &policy.serve {
            return self.serve_server_order(page, &policy, reason.clone(), start).map(Started::Done);
        }
        let features = match self.features(input) {
            Ok(Some(features)) => features,
            Ok(None) => return self.conclude(page, &policy, Ok(None), start).map(Started::Done),
            Err(e) => return self.conclude(page, &policy, Err(e), start).map(Started::Done),
        };
        match self.gpu.plan(features.n_cands(), true) {
            Plan::Gpu { model, measure } => {
                let cpu = measure.then(|| self.timed_cpu_scores(&features));
                Ok(Started::Pending(PendingRerank {
                    start,
                    policy: Box::new(policy),
                    features,
                    gpu: model,
                    cpu,
                    outcome: None,
                }))
            }
            Plan::Cpu(why) => {
                let scored = self.score_on_cpu(&features, why);
                let composed = self.compose(page, &policy.options, &features, scored).map(Some);
                self.conclude(page, &policy, composed, start).map(Started::Done)
            }
        }
    }

    /// The last step of an asynchronous rerank: the GPU goes back to the ranker, a failed GPU
    /// forward is redone on the CPU, and the page is composed. The options and the experiment's
    /// arm are those `start_rerank` took (`_options` is kept for the signature's sake).
    pub fn complete_rerank(
        &mut self,
        page: &HomePage,
        _options: &RerankOptions,
        pending: PendingRerank,
    ) -> RerankResult {
        let PendingRerank { start, policy, features, gpu, cpu, outcome } = pending;
        let outcome = outcome.unwrap_or_else(|| Err(Error::Gpu("the GPU forward was not run".into())));
        let scored = self.settle(gpu, &features, cpu, outcome);
        let composed = self.compose(page, &policy.options, &features, scored).map(Some);
        // `conclude` errs only for strict-mode page errors, which `start_rerank` already returned.
        self.conclude(page, &policy, composed, start).unwrap_or_else(|e| RerankResult {
            experiment: policy.assignment.clone(),
            ..RerankResult::fallback(page, &self.model_id, e.to_string(), elapsed_ms(start))
        })
    }

    /// Runs `experiment` on later reranks (`None` ends it): its unit's arm is computed here, once
    /// (the same unit always gets the same arm; [`crate::experiment`] documents the hash, what
    /// an arm's options, `holdback` and `model` do, and the kill switch). Every result then
    /// carries the [`Assignment`]. A bad experiment ([`Error::InvalidExperiment`]) changes
    /// nothing: the one before stays. [`HomeRanker::forget`] keeps the experiment.
    pub fn set_experiment(&mut self, experiment: Option<Experiment>) -> Result<()> {
        self.experiment = match experiment {
            None => None,
            Some(experiment) => {
                experiment.validate()?;
                let arm = experiment.arm_index();
                let assignment = experiment.assignment();
                Some(Running { experiment, arm, assignment })
            }
        };
        Ok(())
    }

    /// The experiment set by [`HomeRanker::set_experiment`], if any.
    pub fn experiment(&self) -> Option<&Experiment> {
        self.experiment.as_ref().map(|r| &r.experiment)
    }

    /// The unit's arm in the running experiment, as results carry it.
    pub fn assignment(&self) -> Option<&Assignment> {
        self.experiment.as_ref().map(|r| &r.assignment)
    }

    /// The call's options validated, the arm's applied, and how the page is served.
    fn policy(&self, options: &RerankOptions) -> Result<Policy> {
        options.validate()?;
        let Some(running) = &self.experiment else {
            return Ok(Policy { options: options.clone(), assignment: None, serve: Serve::Model });
        };
        let arm = &running.experiment.arms[running.arm];
        let merged = arm.options.as_ref().map_or_else(|| options.clone(), |o| o.apply(options));
        let serve = if running.experiment.killed || arm.holdback {
            Serve::ServerOrder(None)
        } else if !arm.accepts_model(&self.model_id) {
            Serve::ServerOrder(Some(format!(
                "experiment '{}' arm '{}' expects model '{}', this ranker runs {}",
                running.experiment.id,
                arm.name,
                arm.model.as_deref().unwrap_or_default(),
                self.model_id
            )))
        } else {
            Serve::Model
        };
        Ok(Policy { options: merged, assignment: Some(running.assignment.clone()), serve })
    }

    /// The server's page exactly (a holdback arm, the kill switch, an arm for another model):
    /// the page is still validated (a strict call still errs on a bad page) and learnt, so that
    /// later events on its items resolve; no model runs.
    fn serve_server_order(
        &mut self,
        page: &HomePage,
        policy: &Policy,
        reason: Option<String>,
        start: Instant,
    ) -> Result<RerankResult> {
        let checked = page.validate(self.config().embedding_dim).map(|()| {
            self.session.learn_page(page);
            None
        });
        let mut result = self.conclude(page, policy, checked, start)?;
        if result.fallback.is_none() {
            result.fallback = reason;
        }
        Ok(result)
    }

    /// Validates the page and builds the model's inputs; `None` when there is nothing to score
    /// (no session events the page can use).
    fn features(&mut self, input: PageRef<'_>) -> Result<Option<Features>> {
        let page = input.page();
        page.validate(self.config().embedding_dim)?;
        self.session.learn_page(page);
        let features = input.features(&self.session, self.config().max_events);
        Ok((features.n_events() > 0).then_some(features))
    }

    fn score_on_cpu(&mut self, features: &Features, backend_fallback: Option<String>) -> Scored {
        Scored { scores: self.model.score(features, &mut self.scratch), backend: self.backend(), backend_fallback }
    }

    fn timed_cpu_scores(&mut self, features: &Features) -> (Result<Vec<f32>>, f64) {
        let t = Instant::now();
        let scores = self.model.score(features, &mut self.scratch);
        (scores, elapsed_ms(t))
    }

    /// The GPU back from its forward, and the scores that count.
    fn settle(
        &mut self,
        model: GpuModel,
        features: &Features,
        cpu: Option<(Result<Vec<f32>>, f64)>,
        gpu: Result<(Vec<f32>, f64)>,
    ) -> Scored {
        match self.gpu.settle(model, features.n_cands(), cpu, gpu) {
            Settled::Scores { scores, on_gpu: true } => Scored { scores, backend: "gpu", backend_fallback: None },
            Settled::Scores { scores, on_gpu: false } => {
                Scored { scores, backend: self.backend(), backend_fallback: None }
            }
            Settled::RescoreOnCpu(why) => self.score_on_cpu(features, Some(why)),
        }
    }

    /// From scores to the page: the finite check, the feedback rule, the layout.
    fn compose(
        &self,
        page: &HomePage,
        options: &RerankOptions,
        features: &Features,
        scored: Scored,
    ) -> Result<Composed> {
        let mut scores = scored.scores?;
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            let id = page.items().nth(i).map(|(_, _, it)| it.id.clone()).unwrap_or_default();
            return Err(Error::NonFiniteScore(id));
        }
        apply_negative_feedback(&mut scores, features, options.negative_feedback);
        let (shelves, removed) = compose(page, &scores, options);
        Ok(Composed {
            shelves,
            removed,
            backend: scored.backend,
            backend_fallback: scored.backend_fallback,
            events_used: features.n_events(),
        })
    }

    /// Where every rerank ends, fail-open: the composed page; with nothing to score, the
    /// server's page; on any failure the server's page with `fallback` saying why (or the error,
    /// for an invalid page in strict mode).
    fn conclude(
        &self,
        page: &HomePage,
        policy: &Policy,
        composed: Result<Option<Composed>>,
        start: Instant,
    ) -> Result<RerankResult> {
        let result = match composed {
            Ok(Some(c)) => RerankResult {
                page_id: page.page_id.clone(),
                shelves: c.shelves,
                removed: c.removed,
                backend: c.backend.into(),
                backend_fallback: c.backend_fallback,
                model_id: self.model_id.clone(),
                events_used: c.events_used,
                elapsed_ms: elapsed_ms(start),
                fallback: None,
                experiment: None,
            },
            Ok(None) => RerankResult::unscored(page, &self.model_id, elapsed_ms(start)),
            Err(e @ (Error::InvalidPage(_) | Error::EmbeddingDim { .. })) if policy.options.strict => return Err(e),
            Err(e) => RerankResult::fallback(page, &self.model_id, e.to_string(), elapsed_ms(start)),
        };
        Ok(RerankResult { experiment: policy.assignment.clone(), ..result })
    }

    /// Wipes every event, the earlier sessions' events (the mid-term context) and every cached
    /// embedding.
    pub fn forget(&mut self) {
        self.session.forget();
    }

    /// The events held and the item cache, read-only.
    pub fn session(&self) -> &SessionState {
        &self.session
    }

    pub(crate) fn session_mut(&mut self) -> &mut SessionState {
        &mut self.session
    }

    /// A snapshot of the model, the backend and the session (the npm package's `stats()`).
    pub fn stats(&self) -> RankerStats {
        RankerStats {
            model_id: self.model_id.clone(),
            backend: if self.gpu.setting == Backend::Gpu { "gpu".into() } else { self.backend().into() },
            backend_setting: self.gpu.setting,
            gpu_adapter: self.gpu.adapter.clone(),
            gpu_error: self.gpu.error.clone(),
            gpu_calls: self.gpu.calls,
            gpu_fallbacks: self.gpu.fallbacks,
            auto_choices: self.gpu.auto.classes(),
            precision: self.precision.into(),
            events_held: self.session.len(),
            events_resolved: self.session.resolved_len(),
            max_events: self.session.max_events(),
            cached_items: self.session.cached_items(),
            embedding_dim: self.config().embedding_dim,
            mid_term_events: self.session.mid_term_len(),
            mid_term_capacity: self.session.mid_term_capacity(),
        }
    }
}

/// A composed page, before it becomes a [`RerankResult`].
struct Composed {
    shelves: Vec<ShelfResult>,
    removed: Vec<RemovedItem>,
    backend: &'static str,
    backend_fallback: Option<String>,
    events_used: usize,
}

/// A rerank's page argument, and the page it names.
fn split<'p>(page: impl Into<PageRef<'p>>) -> (PageRef<'p>, &'p HomePage) {
    let input = page.into();
    (input, input.page())
}

fn elapsed_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
