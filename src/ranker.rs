//! [`HomeRanker`]: owns the model and the session state; the entry point of the library.
//!
//! `rerank` is fail-open: whatever goes wrong in validation (unless `strict`), featurization or
//! the forward pass, the answer is the server's page exactly, with `fallback` saying why.

use web_time::Instant;

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
    pub backend: String,
    pub precision: String,
    pub events_held: usize,
    pub events_resolved: usize,
    pub max_events: usize,
    pub cached_items: usize,
    pub embedding_dim: usize,
}

/// The on-device reranker: a model plus the session it has observed.
#[derive(Debug)]
pub struct HomeRanker {
    model: CpuModel,
    scratch: Scratch,
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

    /// `cpu-simd` when built with wasm simd128, else `cpu`.
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
    pub fn rerank(&mut self, page: &HomePage, options: &RerankOptions) -> Result<RerankResult> {
        let start = Instant::now();
        options.validate()?;
        let mut result = match self.try_rerank(page, options) {
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

    fn try_rerank(&mut self, page: &HomePage, options: &RerankOptions) -> Result<RerankResult> {
        page.validate(self.config().embedding_dim)?;
        self.session.learn_page(page);
        let features = Features::from_page(page, &self.session, self.config().max_events);
        if features.n_events() == 0 {
            return Ok(RerankResult::server_order(page));
        }
        let mut scores = self.model.score(&features, &mut self.scratch)?;
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            let id = page.items().nth(i).map(|(_, _, it)| it.id.clone()).unwrap_or_default();
            return Err(Error::NonFiniteScore(id));
        }
        apply_negative_feedback(&mut scores, &features, options.negative_feedback);
        let (shelves, removed) = compose(page, &scores, options);
        Ok(RerankResult {
            page_id: page.page_id.clone(),
            shelves,
            removed,
            backend: self.backend().into(),
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
            backend: self.backend().into(),
            precision: self.precision.into(),
            events_held: self.session.len(),
            events_resolved: self.session.resolved_len(),
            max_events: self.session.max_events(),
            cached_items: self.session.cached_items(),
            embedding_dim: self.config().embedding_dim,
        }
    }
}
