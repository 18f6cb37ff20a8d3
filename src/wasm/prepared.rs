//! `WasmPreparedPage`: a page read from JS once (convert.rs) and kept in linear memory, so that
//! reranking the same page again — after each event, say — skips the trip through the JS
//! boundary (which for a 200-item page costs more than the model's forward) and the page's own part
//! of the features (`crate::PreparedPage`). The npm package's
//! `PreparedPage` (js/ranker.js) wraps it; `WasmRanker::rerank_prepared` reranks it.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{from_js, js_error, to_js};
use crate::page::HomePage;
use crate::prepared_page::PreparedPage;

#[wasm_bindgen]
pub struct WasmPreparedPage {
    page: Rc<PreparedPage>,
}

impl WasmPreparedPage {
    /// The page, shared (an asynchronous rerank keeps it across its await).
    pub(crate) fn page(&self) -> Rc<PreparedPage> {
        self.page.clone()
    }
}

#[wasm_bindgen]
impl WasmPreparedPage {
    /// Reads a page from JS, with the same checks and errors as `rerank`'s; a snapshot: later
    /// changes to the JS object do not reach it.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "HomePage")] page: JsValue) -> Result<WasmPreparedPage, JsValue> {
        let page: HomePage = from_js(&page, "page").map_err(js_error)?;
        Ok(WasmPreparedPage { page: Rc::new(PreparedPage::new(page)) })
    }

    /// The page's `pageId`.
    #[wasm_bindgen(getter, js_name = pageId)]
    pub fn page_id(&self) -> String {
        self.page.page().page_id.clone()
    }

    /// The ids of the page's items, an array per shelf in page order (what `rerankPreparedPacked`'s
    /// ranks index).
    #[wasm_bindgen(js_name = itemIds, unchecked_return_type = "string[][]")]
    pub fn item_ids(&self) -> Result<JsValue, JsValue> {
        let shelves = &self.page.page().shelves;
        to_js(&shelves.iter().map(|s| s.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>()).collect::<Vec<_>>())
    }

    /// How many items the page holds, over all shelves.
    #[wasm_bindgen(getter)]
    pub fn items(&self) -> usize {
        self.page.page().items().count()
    }
}
