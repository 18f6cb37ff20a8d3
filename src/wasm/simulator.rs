//! `WasmSimulator`: the listener simulator for the demo page — a catalogue, a persona whose
//! intent drifts, the server's Home page for that persona, and the persona's reactions.
//! Arguments are type-checked in convert.rs; a wrong one is an `INVALID_ARGUMENT` error.

use wasm_bindgen::prelude::*;

use super::convert::{describe, is_array, js_error, read, read_checked, string_arg, to_js};
use crate::dataset::Catalog;
use crate::embedding::content_embeddings;
use crate::error::Error;
use crate::rng::Rng;
use crate::sim::{dataset_catalog, server_page, Listener, ServerRanking, SimCatalog, SimConfig};

/// Embedding width of the demo (the default model's).
const DIM: usize = 32;

#[wasm_bindgen]
pub struct WasmSimulator {
    sim: SimCatalog,
    catalog: Catalog,
    embeddings: Vec<f32>,
    listener: Listener,
    ranking: ServerRanking,
    rng: Rng,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListenOut {
    action: &'static str,
    ms_played: f32,
    reaction: Option<&'static str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemInfo {
    id: String,
    #[serde(rename = "type")]
    item_type: &'static str,
    creator: String,
    duration_ms: f32,
    /// How much the persona wants it right now (−1 … 1).
    affinity: f32,
}

#[wasm_bindgen]
impl WasmSimulator {
    /// A catalogue from `catalog_seed` and a persona from `persona_seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "number")] catalog_seed: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] persona_seed: JsValue,
    ) -> Result<WasmSimulator, JsValue> {
        let (catalog_seed, persona_seed) = (seed(&catalog_seed, "catalogSeed")?, seed(&persona_seed, "personaSeed")?);
        let config = SimConfig { seed: catalog_seed as u64, ..Default::default() };
        let sim = SimCatalog::generate(&config.catalog_spec(), &mut Rng::new(config.seed).fork(1));
        let catalog = dataset_catalog(&sim, config.seed);
        let embeddings = content_embeddings(&catalog, DIM);
        let mut rng = Rng::new(persona_seed as u64).fork(2);
        let listener = Listener::new(&sim, &mut rng);
        let ranking = ServerRanking::for_listener(&sim, &listener, &mut rng);
        Ok(WasmSimulator { sim, catalog, embeddings, listener, ranking, rng })
    }

    /// A new persona (taste and intent) on the same catalogue.
    #[wasm_bindgen(js_name = setPersona)]
    pub fn set_persona(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] persona_seed: JsValue,
    ) -> Result<(), JsValue> {
        let persona_seed = seed(&persona_seed, "personaSeed")?;
        self.rng = Rng::new(persona_seed as u64).fork(2);
        self.listener = Listener::new(&self.sim, &mut self.rng);
        self.ranking = ServerRanking::for_listener(&self.sim, &self.listener, &mut self.rng);
        Ok(())
    }

    /// The server's Home page for the persona (no session knowledge).
    #[wasm_bindgen(js_name = homePage, unchecked_return_type = "HomePage")]
    pub fn home_page(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] n_shelves: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] per_shelf: JsValue,
    ) -> Result<JsValue, JsValue> {
        let n_shelves: usize = arg(&n_shelves, "nShelves")?;
        let per_shelf: usize = arg(&per_shelf, "perShelf")?;
        let emb = |i: u32| self.embeddings[i as usize * DIM..(i as usize + 1) * DIM].to_vec();
        to_js(&server_page(&self.sim, &self.ranking, &emb, DIM, n_shelves.clamp(1, 40), per_shelf.clamp(1, 100)))
    }

    /// Which of the shown item ids the persona would play (index), or `undefined`.
    pub fn choose(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] shown: JsValue,
    ) -> Result<Option<usize>, JsValue> {
        if !is_array(&shown) {
            return Err(invalid(format!("shownIds: expected an array of ids, got {}", describe(&shown))));
        }
        let shown: Vec<String> = arg(&shown, "shownIds")?;
        let items: Vec<u32> = shown.iter().filter_map(|id| self.catalog.get(id)).collect();
        let Some(k) = self.listener.choose(&self.sim, &items, &mut self.rng) else {
            return Ok(None);
        };
        let id = &self.catalog.ids[items[k] as usize];
        Ok(shown.iter().position(|s| s == id))
    }

    /// The persona plays `id`: `{ action: "skip" | "complete", msPlayed, reaction }`; its intent
    /// moves with what it heard.
    pub fn listen(&mut self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Result<JsValue, JsValue> {
        let item = self.item(&id)?;
        let l = self.listener.listen(&self.sim, item, &mut self.rng);
        to_js(&ListenOut {
            action: l.action.as_str(),
            ms_played: l.ms_played,
            reaction: l.reaction.map(|r| r.as_str()),
        })
    }

    /// Details of an item for display.
    #[wasm_bindgen(js_name = itemInfo)]
    pub fn item_info(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Result<JsValue, JsValue> {
        let item = self.item(&id)?;
        let it = &self.sim.items[item as usize];
        to_js(&ItemInfo {
            id: it.id.clone(),
            item_type: it.item_type.as_str(),
            creator: self.sim.creators[it.creator as usize].clone(),
            duration_ms: it.duration_ms,
            affinity: self.listener.affinity(&self.sim, item),
        })
    }
}

impl WasmSimulator {
    fn item(&self, id: &JsValue) -> Result<u32, JsValue> {
        let id = string_arg(id, "itemId").map_err(invalid)?;
        self.catalog.get(&id).ok_or_else(|| invalid(format!("unknown item '{id}'")))
    }
}

pub(super) fn invalid(message: String) -> JsValue {
    js_error(Error::InvalidArgument(message))
}

/// A typed argument; `name` is its name in the error.
pub(super) fn arg<T: serde::de::DeserializeOwned>(v: &JsValue, name: &str) -> Result<T, JsValue> {
    read(v).map_err(|e| named(name, &e.render()))
}

/// [`arg`] for configuration objects: keys the type refuses (`deny_unknown_fields`) are errors.
pub(super) fn checked_arg<T: serde::de::DeserializeOwned>(v: &JsValue, name: &str) -> Result<T, JsValue> {
    read_checked(v).map_err(|e| named(name, &e.render()))
}

fn named(name: &str, message: &str) -> JsValue {
    invalid(format!("{name}{}{message}", if message.starts_with('[') { "" } else { ": " }))
}

fn seed(v: &JsValue, name: &str) -> Result<u32, JsValue> {
    arg(v, name)
}
