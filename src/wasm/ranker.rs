//! `WasmRanker`: the JS face of [`crate::HomeRanker`]. The npm package's `HomeRanker` class
//! (js/ranker.js) wraps it with module loading and the default model.
//!
//! The ranker sits in an `Rc<RefCell<_>>` so that `rerankAsync` and `attachGpu` can reach it
//! after an await. `rerankAsync` borrows it only around the GPU forward, never across it;
//! `attachGpu` holds it while the device starts, and a call made then is refused with code `BUSY`.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{from_js, is_array, js_error, to_js};
use crate::backend::Backend;
use crate::event::SessionEvent;
use crate::manifest::check_sha256;
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
    let e = js_sys::Error::new("homerank: attachGpu is still running on this ranker; await it first");
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
    fn ranker(&self) -> Result<RefMut<'_, HomeRanker>, JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())
    }
}

#[wasm_bindgen]
impl WasmRanker {
    /// Loads a model file; `sha256` (hex), when given, must match the bytes.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8], sha256: Option<String>) -> Result<WasmRanker, JsValue> {
        #[cfg(debug_assertions)]
        console_error_panic_hook::set_once();
        if let Some(expected) = sha256 {
            check_sha256(bytes, &expected).map_err(js_error)?;
        }
        let inner = HomeRanker::from_bytes(bytes).map_err(js_error)?;
        Ok(WasmRanker { inner: Rc::new(RefCell::new(inner)) })
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

    /// Records why no GPU is used (this module has no GPU support, or the page has no WebGPU).
    #[wasm_bindgen(js_name = noteGpuUnavailable)]
    pub fn note_gpu_unavailable(&mut self, reason: &str) -> Result<(), JsValue> {
        self.ranker()?.note_gpu_unavailable(reason);
        Ok(())
    }

    /// Puts the model (the same bytes this ranker was loaded from) on the WebGPU adapter.
    /// Rejects with code `GPU` when there is none; the ranker then keeps using the CPU.
    #[cfg(feature = "gpu")]
    #[wasm_bindgen(js_name = attachGpu, unchecked_return_type = "Promise<void>")]
    pub fn attach_gpu(&mut self, bytes: &[u8]) -> Result<js_sys::Promise, JsValue> {
        let file = crate::model::ModelFile::from_bytes(bytes).map_err(js_error)?;
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let mut ranker = inner.try_borrow_mut().map_err(|_| busy())?;
            ranker.attach_gpu(&file, &crate::gpu::GpuSettings::default()).await.map_err(js_error)?;
            Ok(JsValue::UNDEFINED)
        }))
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
