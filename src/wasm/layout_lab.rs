//! `WasmLayoutLab`: the layout lab ([`crate::sim::LayoutLab`]) for the demo's Worker. Layouts
//! and the population are read in convert.rs (a wrong one is an `INVALID_ARGUMENT` error); the
//! model is the caller's bytes, checked against `sha256` when given.

use wasm_bindgen::prelude::*;

use super::convert::{bytes_arg, js_error, optional_string, to_js};
use super::simulator::{arg, checked_arg, invalid};
use crate::manifest::check_sha256;
use crate::ranker::HomeRanker;
use crate::sim::{LabLayout, LayoutLab, Population};

#[wasm_bindgen]
pub struct WasmLayoutLab {
    lab: LayoutLab,
}

#[wasm_bindgen]
impl WasmLayoutLab {
    /// A comparison of layouts `a` and `b` (the demo's layout objects) on `population`,
    /// reranking with the model in `model` (a `Uint8Array`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "LabLayout")] a: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LabLayout")] b: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LabPopulation | undefined")] population: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] model: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] sha256: JsValue,
    ) -> Result<WasmLayoutLab, JsValue> {
        let a: LabLayout = checked_arg(&a, "layoutA")?;
        let b: LabLayout = checked_arg(&b, "layoutB")?;
        let population: Population =
            if population.is_undefined() { Population::default() } else { checked_arg(&population, "population")? };
        let sha256 = optional_string(&sha256, "sha256").map_err(invalid)?;
        let bytes = bytes_arg(&model).map_err(js_error)?;
        if let Some(expected) = sha256 {
            check_sha256(&bytes, &expected).map_err(js_error)?;
        }
        let ranker = HomeRanker::from_bytes(&bytes).map_err(js_error)?;
        let lab = LayoutLab::new(a, b, population, ranker).map_err(js_error)?;
        Ok(WasmLayoutLab { lab })
    }

    /// Simulates up to `listeners` more listeners; returns how many are done.
    pub fn run(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] listeners: JsValue,
    ) -> Result<usize, JsValue> {
        let n: usize = arg(&listeners, "listeners")?;
        Ok(self.lab.run(n))
    }

    /// Listeners simulated so far.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> usize {
        self.lab.done()
    }

    /// Listeners in the population.
    #[wasm_bindgen(getter)]
    pub fn total(&self) -> usize {
        self.lab.total()
    }

    /// The comparison so far (`LabReport`).
    #[wasm_bindgen(unchecked_return_type = "LabReport")]
    pub fn report(&self) -> Result<JsValue, JsValue> {
        to_js(&self.lab.report())
    }

    /// The report's metrics as CSV.
    pub fn csv(&self) -> String {
        self.lab.report().csv()
    }
}
