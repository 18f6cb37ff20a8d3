//! The core compiled to wasm32 gives the native answers: the golden HR-S fixture, the full
//! forward fixture, and the ranker's rules.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{argsort_desc, core_fixture_from, fixture_ranker, make_page, max_abs_diff};
use homerank::model::cpu::CpuModel;
use homerank::model::{encode_tensors, HrsConfig, Precision};
use homerank::{Action, HomePage, RerankOptions, RerankResult, SessionEvent};
use wasm_bindgen_test::wasm_bindgen_test;

const INDEX: &str = include_str!("../../tests/fixtures/hr-s-core/hr_s_weights.json");
const BLOB: &[u8] = include_bytes!("../../tests/fixtures/hr-s-core/hr_s_weights.bin");
const FIXTURE: &str = include_str!("../../tests/fixtures/hr-s-core/fixture.json");
const FULL: &str = include_str!("../../tests/fixtures/full-forward.json");

#[wasm_bindgen_test]
fn golden_core_fixture_f32_and_q8_0() {
    let (weights, cases) = core_fixture_from(INDEX, BLOB, FIXTURE);
    for (precision, tol) in [(Precision::F32, 1e-4), (Precision::Q8_0, 0.1)] {
        let config = HrsConfig::default();
        let model = CpuModel::new(&config, &encode_tensors(&config, &weights, precision).unwrap()).unwrap();
        for case in &cases {
            let out: Vec<f64> = model
                .forward_core(&case.session, case.l, &case.cands, case.n, &case.server_score)
                .into_iter()
                .map(f64::from)
                .collect();
            let err = max_abs_diff(&out, &case.numpy_f64);
            assert!(err < tol, "{precision:?} N={} L={}: max abs diff {err}", case.n, case.l);
            assert_eq!(argsort_desc(&out), argsort_desc(&case.numpy_f64), "{precision:?} order");
        }
    }
}

#[wasm_bindgen_test]
fn full_forward_fixture_matches_the_native_reference() {
    let fixture: serde_json::Value = serde_json::from_str(FULL).unwrap();
    let page: HomePage = serde_json::from_value(fixture["page"].clone()).unwrap();
    let events: Vec<SessionEvent> = serde_json::from_value(fixture["events"].clone()).unwrap();
    let expected: Vec<f64> = serde_json::from_value(fixture["expectedScores"].clone()).unwrap();
    let mut ranker = fixture_ranker(fixture["modelSeed"].as_u64().unwrap(), Precision::F32);
    ranker.observe_all(&events).unwrap();
    let opts = RerankOptions { dedup: false, reorder_shelves: false, negative_feedback: 0.0, ..Default::default() };
    let result = ranker.rerank(&page, &opts).unwrap();
    let got: Vec<f64> = page
        .shelves
        .iter()
        .zip(&result.shelves)
        .flat_map(|(s, r)| {
            s.items.iter().map(move |it| r.items.iter().find(|i| i.id == it.id).unwrap().score.unwrap() as f64)
        })
        .collect();
    let err = max_abs_diff(&got, &expected);
    assert!(err < 1e-4, "max abs diff {err}");
}

#[wasm_bindgen_test]
fn rules_hold_in_wasm() {
    let mut ranker = fixture_ranker(1, Precision::Q8_0);
    let page = make_page(3, 8, 32, 4);
    let server = RerankResult::server_order(&page).order();
    assert_eq!(ranker.rerank(&page, &RerankOptions::default()).unwrap().order(), server);
    ranker.observe(&SessionEvent::new("s0-i0", Action::Skip).with_ms_played(1000.0)).unwrap();
    ranker.observe(&SessionEvent::new("s1-i2", Action::Like)).unwrap();
    let a = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    let b = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(a.order(), b.order(), "deterministic");
    assert_eq!(a.backend, "cpu-simd");
    assert!(a.elapsed_ms >= 0.0);
    let mut bad = page.clone();
    bad.shelves[0].items[0].embedding[0] = f32::NAN;
    let r = ranker.rerank(&bad, &RerankOptions::default()).unwrap();
    assert_eq!(r.order(), server);
    assert!(r.fallback.unwrap().contains("NaN"));
}
