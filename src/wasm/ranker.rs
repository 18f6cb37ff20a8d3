//! `WasmRanker`: the JS face of [`crate::HomeRanker`]. The npm package's `HomeRanker` class
//! (js/index.js) wraps it with module loading and the default model.

use wasm_bindgen::prelude::*;

use super::convert::{from_js, is_array, js_error, to_js};
use crate::event::SessionEvent;
use crate::manifest::check_sha256;
use crate::options::RerankOptions;
use crate::page::HomePage;
use crate::ranker::HomeRanker;

/// Options go through JSON text: serde-wasm-bindgen reads only the fields a struct names, so an
/// unknown (misspelt) option would pass silently; the JSON path refuses it, as in Rust and the CLI.
fn options_from_js(options: JsValue) -> Result<RerankOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(RerankOptions::default());
    }
    let text = js_sys::JSON::stringify(&options).ok().and_then(|s| s.as_string()).unwrap_or_default();
    RerankOptions::from_json(&text).map_err(js_error)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_CONTRACT: &'static str = include_str!("contract.d.ts");

#[wasm_bindgen]
pub struct WasmRanker {
    inner: HomeRanker,
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
        HomeRanker::from_bytes(bytes).map(|inner| WasmRanker { inner }).map_err(js_error)
    }

    /// Records one event or an array of events; returns how many were recorded.
    pub fn observe(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "SessionEvent | SessionEvent[]")] events: JsValue,
    ) -> Result<usize, JsValue> {
        if is_array(&events) {
            let events: Vec<SessionEvent> = from_js(events, "events")?;
            self.inner.observe_all(&events).map_err(js_error)
        } else {
            let event: SessionEvent = from_js(events, "event")?;
            self.inner.observe(&event).map_err(js_error)?;
            Ok(1)
        }
    }

    /// Reranks a page; fail-open (see `RerankResult.fallback`).
    #[wasm_bindgen(unchecked_return_type = "RerankResult")]
    pub fn rerank(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions | undefined")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let page: HomePage = from_js(page, "page")?;
        let options = options_from_js(options)?;
        let result = self.inner.rerank(&page, &options).map_err(js_error)?;
        to_js(&result)
    }

    /// Like `rerank`, with JSON text in and out (faster for very large pages).
    #[wasm_bindgen(js_name = rerankJson)]
    pub fn rerank_json(&mut self, page: &str, options: Option<String>) -> Result<String, JsValue> {
        let page = HomePage::from_json(page).map_err(js_error)?;
        let options = match options {
            Some(o) => RerankOptions::from_json(&o).map_err(js_error)?,
            None => RerankOptions::default(),
        };
        Ok(self.inner.rerank(&page, &options).map_err(js_error)?.to_json())
    }

    /// Wipes every event and cached embedding.
    pub fn forget(&mut self) {
        self.inner.forget();
    }

    #[wasm_bindgen(unchecked_return_type = "RankerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.stats())
    }

    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.inner.model_id().to_owned()
    }

    #[wasm_bindgen(getter, js_name = embeddingDim)]
    pub fn embedding_dim(&self) -> usize {
        self.inner.config().embedding_dim
    }
}
