//! `WasmRanker`: the JS face of [`crate::HomeRanker`]. The npm package's `HomeRanker` class
//! (js/ranker.js) wraps it with module loading and the default model.
//!
//! The ranker sits in an `Rc<RefCell<_>>` so that `rerankAsync` can reach it after an await; it
//! borrows it only around the GPU forward, never across it.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{from_js, is_array, js_error, to_js};
use crate::backend::Backend;
use crate::event::SessionEvent;
use crate::gpu::GpuSettings;
use crate::manifest::check_sha256;
use crate::model::ModelFile;
use crate::options::RerankOptions;
use crate::page::HomePage;
use crate::ranker::{HomeRanker, Started};

/// Options go through JSON text: serde-wasm-bindgen reads only the fields a struct names, so an
/// unknown (misspelt) option would pass silently; the JSON path refuses it, as in Rust and the CLI.
fn options_from_js(options: JsValue) -> Result<RerankOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(RerankOptions::default());
    }
    let text = js_sys::JSON::stringify(&options).ok().and_then(|s| s.as_string()).unwrap_or_default();
    RerankOptions::from_json(&text).map_err(js_error)
}

fn busy() -> JsValue {
    let e = js_sys::Error::new("homerank: the ranker is in use by a call that has not returned");
    let _ = js_sys::Reflect::set(&e, &"code".into(), &"BUSY".into());
    e.into()
}

#[wasm_bindgen(typescript_custom_section)]
const TS_CONTRACT: &'static str = include_str!("contract.d.ts");

#[wasm_bindgen]
pub struct WasmRanker {
    inner: Rc<RefCell<HomeRanker>>,
}

impl WasmRanker {
    /// [`WasmRanker::load`] for Rust callers (the wasm tests).
    pub fn load_async(
        bytes: &[u8],
        sha256: Option<String>,
        backend: Option<String>,
    ) -> impl std::future::Future<Output = Result<WasmRanker, JsValue>> {
        let parsed = Self::parse(bytes, sha256).and_then(|(mut ranker, file)| {
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

    fn parse(bytes: &[u8], sha256: Option<String>) -> Result<(HomeRanker, ModelFile), JsValue> {
        #[cfg(debug_assertions)]
        console_error_panic_hook::set_once();
        if let Some(expected) = sha256 {
            check_sha256(bytes, &expected).map_err(js_error)?;
        }
        let file = ModelFile::from_bytes(bytes).map_err(js_error)?;
        let ranker = HomeRanker::from_model_file(&file).map_err(js_error)?;
        Ok((ranker, file))
    }

    fn ranker(&self) -> Result<RefMut<'_, HomeRanker>, JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())
    }
}

#[wasm_bindgen]
impl WasmRanker {
    /// Loads a model file for the CPU; `sha256` (hex), when given, must match the bytes.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8], sha256: Option<String>) -> Result<WasmRanker, JsValue> {
        let (ranker, _) = Self::parse(bytes, sha256)?;
        Ok(WasmRanker { inner: Rc::new(RefCell::new(ranker)) })
    }

    /// Loads a model file; `sha256` (hex), when given, must match the bytes. With `backend`
    /// `"gpu"` or `"auto"` the same parsed file then goes onto the GPU (WebGPU); where that fails
    /// (no WebGPU, no adapter, a module built without it) the ranker scores on the CPU and
    /// `stats().gpuError` says why.
    #[wasm_bindgen(unchecked_return_type = "Promise<WasmRanker>")]
    pub fn load(bytes: &[u8], sha256: Option<String>, backend: Option<String>) -> Result<js_sys::Promise, JsValue> {
        let loading = Self::load_async(bytes, sha256, backend);
        Ok(wasm_bindgen_futures::future_to_promise(async move { Ok(loading.await?.into()) }))
    }

    /// Records one event or an array of events; returns how many were recorded.
    pub fn observe(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "SessionEvent | SessionEvent[]")] events: JsValue,
    ) -> Result<usize, JsValue> {
        let mut ranker = self.ranker()?;
        if is_array(&events) {
            let events: Vec<SessionEvent> = from_js(events, "events")?;
            ranker.observe_all(&events).map_err(js_error)
        } else {
            let event: SessionEvent = from_js(events, "event")?;
            ranker.observe(&event).map_err(js_error)?;
            Ok(1)
        }
    }

    /// Reranks a page on the CPU; fail-open (see `RerankResult.fallback`).
    #[wasm_bindgen(unchecked_return_type = "RerankResult")]
    pub fn rerank(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let page: HomePage = from_js(page, "page")?;
        let options = options_from_js(options)?;
        let result = self.ranker()?.rerank(&page, &options).map_err(js_error)?;
        to_js(&result)
    }

    /// Reranks a page on the backend the setting picks, awaiting the GPU when it is used.
    #[wasm_bindgen(js_name = rerankAsync, unchecked_return_type = "Promise<RerankResult>")]
    pub fn rerank_async(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let page: HomePage = from_js(page, "page")?;
        let options = options_from_js(options)?;
        // The ranker is borrowed only before and after the GPU forward, so other calls (observe,
        // rerank, another rerankAsync, which then scores on the CPU) go on while it runs.
        let started = self.ranker()?.start_rerank(&page, &options).map_err(js_error)?;
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let result = match started {
                Started::Done(result) => result,
                Started::Pending(mut pending) => {
                    pending.run().await;
                    inner.try_borrow_mut().map_err(|_| busy())?.complete_rerank(&page, &options, pending)
                }
            };
            to_js(&result)
        }))
    }

    /// Like `rerank`, with JSON text in and out (faster for very large pages).
    #[wasm_bindgen(js_name = rerankJson)]
    pub fn rerank_json(&mut self, page: &str, options: Option<String>) -> Result<String, JsValue> {
        let page = HomePage::from_json(page).map_err(js_error)?;
        let options = match options {
            Some(o) => RerankOptions::from_json(&o).map_err(js_error)?,
            None => RerankOptions::default(),
        };
        Ok(self.ranker()?.rerank(&page, &options).map_err(js_error)?.to_json())
    }

    /// `"auto"`, `"cpu"` or `"gpu"`.
    #[wasm_bindgen(js_name = setBackend)]
    pub fn set_backend(&mut self, backend: &str) -> Result<(), JsValue> {
        let backend: Backend = backend.parse().map_err(js_error)?;
        self.ranker()?.set_backend(backend);
        Ok(())
    }

    /// Wipes every event and cached embedding.
    pub fn forget(&mut self) -> Result<(), JsValue> {
        self.ranker()?.forget();
        Ok(())
    }

    #[wasm_bindgen(unchecked_return_type = "RankerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.ranker()?.stats())
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
