//! `WasmRanker`: the JS face of [`crate::HomeRanker`]. The npm package's `HomeRanker` class
//! (js/ranker.js) wraps it with module loading, the default model, `free()` and `FREED`.
//!
//! The ranker sits in an `Rc<RefCell<_>>` so that `rerankAsync` can reach it after an await.
//! Every method first converts its arguments (convert.rs: no JS exception can cross a Rust
//! frame), then borrows the ranker for the Rust work alone, then converts the answer after the
//! borrow is released: no JS code runs while the ranker is borrowed, so a getter that calls back
//! into the ranker (or throws) can neither wedge it nor find it busy. Methods take `&self`, so a
//! re-entrant call from such a getter is a plain call.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{
    bytes_arg, describe, from_js, is_array, js_error, optional_string, options_from_js, packed, read, read_checked,
    string_arg, text_arg, to_js, PackedResult,
};
use super::prepared::WasmPreparedPage;
use crate::backend::Backend;
use crate::error::Error;
use crate::event::SessionEvent;
use crate::experiment::{Experiment, Exposure};
use crate::gpu::GpuSettings;
use crate::manifest::check_digest;
use crate::model::{sha256_hex, ModelFile};
use crate::options::RerankOptions;
use crate::page::HomePage;
use crate::prepared_page::{PageRef, PreparedPage};
use crate::ranker::{HomeRanker, Started};
use crate::result::RerankResult;

#[wasm_bindgen(typescript_custom_section)]
const TS_CONTRACT: &'static str = include_str!("contract.d.ts");

#[wasm_bindgen]
pub struct WasmRanker {
    inner: Rc<RefCell<HomeRanker>>,
}

/// For Rust callers (the wasm tests): the same calls with Rust arguments.
impl WasmRanker {
    /// [`WasmRanker::load`] for Rust callers.
    pub fn load_async(
        bytes: &[u8],
        sha256: Option<String>,
        backend: Option<String>,
        digest: Option<String>,
    ) -> impl std::future::Future<Output = Result<WasmRanker, JsValue>> {
        let parsed = Self::parse(bytes, sha256, digest).and_then(|(mut ranker, file)| {
            let backend: Backend = backend.as_deref().unwrap_or("cpu").parse().map_err(js_error)?;
            ranker.set_backend(backend);
            Ok((ranker, file, backend))
        });
        async move {
            let (mut ranker, file, backend) = parsed?;
            if backend != Backend::Cpu {
                // A GPU that cannot start is not a load failure: the reason is in stats().gpuError.
                let _ = ranker.attach_gpu(&file, &GpuSettings::default()).await;
            }
            Ok(WasmRanker { inner: Rc::new(RefCell::new(ranker)) })
        }
    }

    /// [`WasmRanker::from_bytes_js`] for Rust callers.
    pub fn from_bytes(bytes: &[u8], sha256: Option<String>) -> Result<WasmRanker, JsValue> {
        let (ranker, _) = Self::parse(bytes, sha256, None)?;
        Ok(WasmRanker { inner: Rc::new(RefCell::new(ranker)) })
    }

    /// [`WasmRanker::rerank_json_js`] for Rust callers.
    pub fn rerank_json(&self, page: &str, options: Option<String>) -> Result<String, JsValue> {
        let page = HomePage::from_json(page).map_err(js_error)?;
        let options = match options {
            Some(o) => RerankOptions::from_json(&o).map_err(js_error)?,
            None => RerankOptions::default(),
        };
        Ok(self.ranker()?.rerank(&page, &options).map_err(js_error)?.to_json())
    }

    /// The model file of `bytes`, checked against `sha256` when given. `digest` is the bytes'
    /// SHA-256 when the host computed it already (the package does, with WebCrypto): then the
    /// bytes are not hashed in wasm, where a cold start runs unoptimized code.
    fn parse(bytes: &[u8], sha256: Option<String>, digest: Option<String>) -> Result<(HomeRanker, ModelFile), JsValue> {
        #[cfg(debug_assertions)]
        console_error_panic_hook::set_once();
        let file = match sha256 {
            Some(expected) => {
                let actual = digest.unwrap_or_else(|| sha256_hex(bytes));
                check_digest(&actual, &expected).map_err(js_error)?;
                ModelFile::from_checked_bytes(bytes, &actual)
            }
            None => ModelFile::from_bytes(bytes),
        }
        .map_err(js_error)?;
        let ranker = HomeRanker::from_model_file(&file).map_err(js_error)?;
        Ok((ranker, file))
    }

    fn rerank_page(&self, page: PageRef<'_>, options: &JsValue) -> Result<RerankResult, JsValue> {
        let options = options_from_js(options).map_err(js_error)?;
        self.ranker()?.rerank(page, &options).map_err(js_error)
    }

    /// `page` is read as prepared (its features' own part kept) when `prepared` is set, and the
    /// promise resolves to the result packed (`PackedResult`, as `rerankPreparedPacked` gives
    /// it); else it is read as a page object for this call and the result comes as JS objects.
    fn rerank_page_async(
        &self,
        page: Rc<PreparedPage>,
        prepared: bool,
        options: &JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let options = options_from_js(options).map_err(js_error)?;
        let input = if prepared { PageRef::Prepared(&page) } else { PageRef::Page(page.page()) };
        // The ranker is borrowed only before and after the GPU forward, so other calls (observe,
        // rerank, another rerankAsync, which then scores on the CPU) go on while it runs.
        let started = self.ranker()?.start_rerank(input, &options).map_err(js_error)?;
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let result = match started {
                Started::Done(result) => result,
                Started::Pending(mut pending) => {
                    pending.run().await;
                    let mut ranker = inner.try_borrow_mut().map_err(|_| js_error(Error::Busy))?;
                    ranker.complete_rerank(page.page(), &options, pending)
                }
            };
            if prepared {
                packed(result).map(JsValue::from)
            } else {
                to_js(&result)
            }
        }))
    }

    fn ranker(&self) -> Result<RefMut<'_, HomeRanker>, JsValue> {
        self.inner.try_borrow_mut().map_err(|_| js_error(Error::Busy))
    }

    /// The load arguments from JS: bytes, `sha256` and `backend` type-checked.
    fn load_args(bytes: &JsValue, sha256: &JsValue, backend: &JsValue) -> Result<LoadArgs, JsValue> {
        let sha256 = optional_string(sha256, "sha256").map_err(|m| js_error(Error::InvalidOptions(m)))?;
        let backend = optional_string(backend, "backend").map_err(|m| js_error(Error::InvalidOptions(m)))?;
        let bytes = bytes_arg(bytes).map_err(js_error)?;
        Ok((bytes, sha256, backend))
    }
}

/// A model file's bytes, its expected `sha256` and the `backend` asked for.
type LoadArgs = (Vec<u8>, Option<String>, Option<String>);

#[wasm_bindgen]
impl WasmRanker {
    /// Loads a model file (a `Uint8Array`) for the CPU; `sha256` (hex), when given, must match.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes_js(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] sha256: JsValue,
    ) -> Result<WasmRanker, JsValue> {
        let (bytes, sha256, _) = Self::load_args(&bytes, &sha256, &JsValue::UNDEFINED)?;
        Self::from_bytes(&bytes, sha256)
    }

    /// Loads a model file; `sha256` (hex), when given, must match the bytes. With `backend`
    /// `"gpu"` or `"auto"` the same parsed file then goes onto the GPU (WebGPU); where that fails
    /// (no WebGPU, no adapter, a module built without it) the ranker scores on the CPU and
    /// `stats().gpuError` says why. `digest`, when given, is the bytes' SHA-256 (hex) as the
    /// host computed it (the package uses WebCrypto), so that wasm does not hash them again.
    #[wasm_bindgen(js_name = load, unchecked_return_type = "Promise<WasmRanker>")]
    pub fn load_js(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] sha256: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Backend | undefined")] backend: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] digest: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let (bytes, sha256, backend) = Self::load_args(&bytes, &sha256, &backend)?;
        let digest = optional_string(&digest, "digest").map_err(|m| js_error(Error::InvalidOptions(m)))?;
        let loading = Self::load_async(&bytes, sha256, backend, digest);
        drop(bytes);
        Ok(wasm_bindgen_futures::future_to_promise(async move { Ok(loading.await?.into()) }))
    }

    /// Records one event or an array of events; returns how many were recorded.
    pub fn observe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionEvent | SessionEvent[]")] events: JsValue,
    ) -> Result<usize, JsValue> {
        if is_array(&events) {
            let events: Vec<SessionEvent> = from_js(&events, "events").map_err(js_error)?;
            self.ranker()?.observe_all(&events).map_err(js_error)
        } else {
            let event: SessionEvent = from_js(&events, "event").map_err(js_error)?;
            self.ranker()?.observe(&event).map_err(js_error)?;
            Ok(1)
        }
    }

    /// Reranks a page on the CPU; fail-open (see `RerankResult.fallback`).
    #[wasm_bindgen(unchecked_return_type = "RerankResult")]
    pub fn rerank(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let page: HomePage = from_js(&page, "page").map_err(js_error)?;
        to_js(&self.rerank_page(PageRef::Page(&page), &options)?)
    }

    /// `rerank` of a page prepared once (`PreparedPage`): the page is not read from JS again.
    #[wasm_bindgen(js_name = rerankPrepared, unchecked_return_type = "RerankResult")]
    pub fn rerank_prepared(
        &self,
        page: &WasmPreparedPage,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        to_js(&self.rerank_page(PageRef::Prepared(&page.page()), &options)?)
    }

    /// `rerankPrepared` with the result packed (`PackedResult`), for the package to unpack.
    #[wasm_bindgen(js_name = rerankPreparedPacked)]
    pub fn rerank_prepared_packed(
        &self,
        page: &WasmPreparedPage,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<PackedResult, JsValue> {
        packed(self.rerank_page(PageRef::Prepared(&page.page()), &options)?)
    }

    /// Reranks a page on the backend the setting picks, awaiting the GPU when it is used.
    #[wasm_bindgen(js_name = rerankAsync, unchecked_return_type = "Promise<RerankResult>")]
    pub fn rerank_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let page: HomePage = from_js(&page, "page").map_err(js_error)?;
        self.rerank_page_async(Rc::new(PreparedPage::new(page)), false, &options)
    }

    /// `rerankAsync` of a prepared page, the result packed (`PackedResult`) as by
    /// `rerankPreparedPacked`.
    #[wasm_bindgen(js_name = rerankPreparedAsync, unchecked_return_type = "Promise<PackedResult>")]
    pub fn rerank_prepared_async(
        &self,
        page: &WasmPreparedPage,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        self.rerank_page_async(page.page(), true, &options)
    }

    /// Like `rerank`, with JSON text in and out.
    #[wasm_bindgen(js_name = rerankJson)]
    pub fn rerank_json_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] options: JsValue,
    ) -> Result<String, JsValue> {
        let page = text_arg(&page, "page").map_err(|m| js_error(Error::Json { what: "page", message: m }))?;
        let options = match options.is_undefined() || options.is_null() {
            true => None,
            false => {
                Some(text_arg(&options, "options").map_err(|m| js_error(Error::Json { what: "options", message: m }))?)
            }
        };
        self.rerank_json(&page, options)
    }

    /// `"auto"`, `"cpu"` or `"gpu"`.
    #[wasm_bindgen(js_name = setBackend)]
    pub fn set_backend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Backend")] backend: JsValue,
    ) -> Result<(), JsValue> {
        let backend = string_arg(&backend, "backend").map_err(|m| js_error(Error::InvalidOptions(m)))?;
        let backend: Backend = backend.parse().map_err(js_error)?;
        self.ranker()?.set_backend(backend);
        Ok(())
    }

    /// Runs an experiment on later reranks (`null` or `undefined` ends it); a bad one throws
    /// `INVALID_EXPERIMENT` and leaves the one before.
    #[wasm_bindgen(js_name = setExperiment)]
    pub fn set_experiment(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Experiment | null | undefined")] experiment: JsValue,
    ) -> Result<(), JsValue> {
        let experiment: Option<Experiment> = if experiment.is_undefined() || experiment.is_null() {
            None
        } else {
            Some(read_checked(&experiment).map_err(|e| js_error(Error::InvalidExperiment(e.render())))?)
        };
        self.ranker()?.set_experiment(experiment).map_err(js_error)
    }

    /// The unit's arm in the running experiment, or `null`.
    #[wasm_bindgen(unchecked_return_type = "Assignment | null")]
    pub fn assignment(&self) -> Result<JsValue, JsValue> {
        let assignment = self.ranker()?.assignment().cloned();
        to_js(&assignment)
    }

    /// The exposure record of a result shown at `timeMs`, or `null` (no experiment, or killed).
    #[wasm_bindgen(unchecked_return_type = "Exposure | null")]
    pub fn exposure(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RerankResult")] result: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] time_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let result: RerankResult =
            read(&result).map_err(|e| js_error(Error::InvalidArgument(format!("exposure: result: {}", e.render()))))?;
        let time_ms = time_ms.as_f64().ok_or_else(|| {
            js_error(Error::InvalidArgument(format!("exposure: timeMs: expected a number, got {}", describe(&time_ms))))
        })?;
        to_js(&Exposure::from_result(&result, time_ms).map_err(js_error)?)
    }

    /// Turns the mid-term context on with room for `events` earlier events kept `ttlMs` each
    /// (0 events: off, and the earlier events are wiped).
    #[wasm_bindgen(js_name = setMidTerm)]
    pub fn set_mid_term(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] events: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] ttl_ms: JsValue,
    ) -> Result<(), JsValue> {
        let events = usize_arg(&events, "midTerm.events")?;
        let ttl_ms = finite_arg(&ttl_ms, "midTerm.ttlMs")?;
        self.ranker()?.set_mid_term(events, ttl_ms);
        Ok(())
    }

    /// Ends the listening session at `nowMs`: with the mid-term context on, its events become
    /// earlier events.
    #[wasm_bindgen(js_name = endSession)]
    pub fn end_session(&self, #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue) -> Result<(), JsValue> {
        let now_ms = finite_arg(&now_ms, "nowMs")?;
        self.ranker()?.end_session(now_ms);
        Ok(())
    }

    /// The earlier events as profile bytes.
    #[wasm_bindgen(js_name = exportProfile)]
    pub fn export_profile(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let now_ms = finite_arg(&now_ms, "nowMs")?;
        Ok(self.ranker()?.export_profile(now_ms))
    }

    /// Replaces the earlier events with a profile's; how many are kept. A bad blob throws
    /// `INVALID_PROFILE` and changes nothing.
    #[wasm_bindgen(js_name = importProfile)]
    pub fn import_profile(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
    ) -> Result<usize, JsValue> {
        let bytes = match bytes.dyn_ref::<js_sys::Uint8Array>() {
            Some(b) => b.to_vec(),
            None => {
                return Err(js_error(Error::InvalidProfile(format!("expected a Uint8Array, got {}", describe(&bytes)))))
            }
        };
        let now_ms = finite_arg(&now_ms, "nowMs")?;
        self.ranker()?.import_profile(&bytes, now_ms).map_err(js_error)
    }

    /// Wipes every event, the earlier events and cached embeddings (their bytes are overwritten).
    pub fn forget(&self) -> Result<(), JsValue> {
        self.ranker()?.forget();
        Ok(())
    }

    #[wasm_bindgen(unchecked_return_type = "RankerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let stats = self.ranker()?.stats();
        to_js(&stats)
    }

    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> Result<String, JsValue> {
        Ok(self.ranker()?.model_id().to_owned())
    }

    #[wasm_bindgen(getter, js_name = embeddingDim)]
    pub fn embedding_dim(&self) -> Result<usize, JsValue> {
        Ok(self.ranker()?.config().embedding_dim)
    }
}

fn usize_arg(v: &JsValue, name: &str) -> Result<usize, JsValue> {
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 1e6 => Ok(n as usize),
        _ => Err(js_error(Error::InvalidOptions(format!(
            "{name}: expected a whole number 0 … 1,000,000, got {}",
            describe(v)
        )))),
    }
}

fn finite_arg(v: &JsValue, name: &str) -> Result<f64, JsValue> {
    match v.as_f64() {
        Some(n) if n.is_finite() => Ok(n),
        _ => Err(js_error(Error::InvalidOptions(format!("{name}: expected a finite number, got {}", describe(v))))),
    }
}
