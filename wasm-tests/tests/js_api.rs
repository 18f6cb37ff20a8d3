//! The JS API (`WasmRanker`) with real JS values: results, error codes and messages.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{fixture_model_bytes, make_page};
use homerank::model::Precision;
use homerank::wasm::WasmRanker;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap()
}

/// The `code` and `message` of a thrown JS Error.
fn error_of(err: JsValue) -> (String, String) {
    let e: js_sys::Error = err.dyn_into().expect("a JS Error");
    (get(&e, "code").as_string().unwrap(), e.message().into())
}

fn ranker() -> WasmRanker {
    WasmRanker::from_bytes(&fixture_model_bytes(3, Precision::Q8_0), None).unwrap()
}

fn page_json() -> String {
    serde_json::to_string(&make_page(2, 5, 32, 9)).unwrap()
}

#[wasm_bindgen_test]
fn rerank_takes_and_returns_plain_js_objects() {
    let mut r = ranker();
    assert!(r.model_id().unwrap().starts_with("homerank-s-test-fixture@sha256:"));
    assert_eq!(r.embedding_dim().unwrap(), 32);
    let page = js(&page_json());
    let out = r.rerank(page.clone(), JsValue::UNDEFINED).unwrap();
    assert!(get(&out, "fallback").is_null());
    assert_eq!(get(&out, "backend").as_string().unwrap(), "none");
    assert_eq!(
        r.observe(js(r#"[{"itemId":"s0-i1","action":"skip","msPlayed":900},{"itemId":"s1-i3","action":"complete"}]"#))
            .unwrap(),
        2
    );
    assert_eq!(r.observe(js(r#"{"itemId":"s1-i4","action":"like"}"#)).unwrap(), 1);
    let out = r.rerank(page, js(r#"{"dedup": false, "maxArtistRun": 2}"#)).unwrap();
    assert_eq!(get(&out, "eventsUsed").as_f64().unwrap(), 3.0);
    let shelves: js_sys::Array = get(&out, "shelves").dyn_into().unwrap();
    assert_eq!(shelves.length(), 2);
    let items: js_sys::Array = get(&shelves.get(0), "items").dyn_into().unwrap();
    assert_eq!(items.length(), 5);
    assert!(get(&items.get(0), "score").as_f64().is_some());
    let stats = r.stats().unwrap();
    assert_eq!(get(&stats, "eventsHeld").as_f64().unwrap(), 3.0);
    r.forget().unwrap();
    assert_eq!(get(&r.stats().unwrap(), "cachedItems").as_f64().unwrap(), 0.0);
    let json = r.rerank_json(&page_json(), None).unwrap();
    assert!(json.contains("\"fallback\":null"));
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_codes_naming_the_field() {
    let err = WasmRanker::from_bytes(b"nope", None).err().unwrap();
    let (code, msg) = error_of(err);
    assert_eq!(code, "INVALID_MODEL");
    assert!(msg.starts_with("invalid model file: not a GGUF file"), "{msg}");

    let err = WasmRanker::from_bytes(&fixture_model_bytes(3, Precision::Q8_0), Some("ab".repeat(32))).err().unwrap();
    assert_eq!(error_of(err).0, "MODEL_CHECKSUM");

    let mut r = ranker();
    let (code, msg) = error_of(r.observe(js(r#"{"itemId":"x","action":"teleport"}"#)).unwrap_err());
    assert_eq!(code, "INVALID_JSON");
    assert!(msg.contains("teleport"), "{msg}");
    let (code, msg) = error_of(r.observe(js(r#"{"itemId":"x","action":"play","msPlayed":-4}"#)).unwrap_err());
    assert_eq!(code, "INVALID_EVENT");
    assert!(msg.contains("msPlayed is -4"), "{msg}");
    let (code, _) = error_of(r.rerank(js(r#"{"shelves": 3}"#), JsValue::UNDEFINED).unwrap_err());
    assert_eq!(code, "INVALID_JSON");
    let (code, msg) = error_of(r.rerank(js(&page_json()), js(r#"{"maxArtistRun": 0}"#)).unwrap_err());
    assert_eq!(code, "INVALID_OPTIONS");
    assert!(msg.contains("maxArtistRun"));
    let mut page: serde_json::Value = serde_json::from_str(&page_json()).unwrap();
    page["shelves"][1]["items"][0]["embedding"] = serde_json::json!([1.0, 2.0]);
    let (code, msg) = error_of(r.rerank(js(&page.to_string()), js(r#"{"strict": true}"#)).unwrap_err());
    assert_eq!(code, "EMBEDDING_DIM");
    assert!(msg.contains("shelf 1 ('shelf-1') item 0 ('s1-i0') has 2"), "{msg}");
    // Not strict: the server order, with the reason.
    let out = r.rerank(js(&page.to_string()), JsValue::UNDEFINED).unwrap();
    assert!(get(&out, "fallback").as_string().unwrap().contains("has 2"));
}
