//! The whole forward (page + events → scores) against the plain-Rust float64 reference in
//! tests/common/reference.rs, live and through the checked-in fixture
//! tests/fixtures/full-forward.json (inputs and the reference's expected scores).

mod common;

use common::reference::Reference;
use common::{fixture_ranker, make_page, max_abs_diff, seeded_weights};
use homerank::model::{HrsConfig, Precision};
use homerank::{Action, HomePage, RerankOptions, SessionEvent};

const MODEL_SEED: u64 = 42;

fn fixture_inputs() -> (HomePage, Vec<SessionEvent>) {
    let mut page = make_page(3, 7, 32, 2024);
    page.shelves[1].items[2].server_score = None;
    page.shelves[2].items[0].item_type = homerank::ItemType::Show;
    let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
    let actions = [
        Action::Play,
        Action::Skip,
        Action::Complete,
        Action::Like,
        Action::Dwell,
        Action::Impression,
        Action::Click,
        Action::Dislike,
        Action::Save,
    ];
    let mut events: Vec<SessionEvent> = (0..12)
        .map(|k| {
            let mut e = SessionEvent::new(&ids[(k * 5) % ids.len()], actions[k % actions.len()]);
            if k % 3 != 0 {
                e.ms_played = Some([1_000.0, 7_000.0, 20_000.0, 45_000.0, 90_000.0, 200_000.0, 400_000.0][k % 7]);
            }
            e
        })
        .collect();
    events.insert(4, SessionEvent::new("not-on-this-page", Action::Play));
    (page, events)
}

/// Scores per candidate in page order, from the ranker's result.
fn ranker_scores(page: &HomePage, events: &[SessionEvent], precision: Precision) -> Vec<f64> {
    let mut ranker = fixture_ranker(MODEL_SEED, precision);
    ranker.observe_all(events).unwrap();
    let result = ranker
        .rerank(
            page,
            &RerankOptions { dedup: false, reorder_shelves: false, negative_feedback: 0.0, ..Default::default() },
        )
        .unwrap();
    assert!(result.fallback.is_none(), "{:?}", result.fallback);
    page.shelves
        .iter()
        .zip(&result.shelves)
        .flat_map(|(s, r)| {
            s.items.iter().map(move |item| r.items.iter().find(|i| i.id == item.id).unwrap().score.unwrap() as f64)
        })
        .collect()
}

#[test]
fn f32_forward_matches_the_float64_reference() {
    let (page, events) = fixture_inputs();
    let reference = Reference::new(&seeded_weights(&HrsConfig::default(), MODEL_SEED)).scores(&page, &events);
    let got = ranker_scores(&page, &events, Precision::F32);
    let err = max_abs_diff(&got, &reference);
    println!("full forward, f32 vs float64 reference: max abs diff {err:.2e}");
    assert!(err < 1e-4, "{err}");
}

#[test]
fn checked_in_fixture_still_holds() {
    let path = common::fixture_dir().join("full-forward.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let page: HomePage = serde_json::from_value(fixture["page"].clone()).unwrap();
    let events: Vec<SessionEvent> = serde_json::from_value(fixture["events"].clone()).unwrap();
    assert_eq!(fixture["modelSeed"].as_u64(), Some(MODEL_SEED));
    let expected: Vec<f64> = serde_json::from_value(fixture["expectedScores"].clone()).unwrap();
    let f32_scores = ranker_scores(&page, &events, Precision::F32);
    let err = max_abs_diff(&f32_scores, &expected);
    println!("fixture: f32 max abs diff {err:.2e}");
    assert!(err < 1e-4, "{err}");
    let q8 = ranker_scores(&page, &events, Precision::Q8_0);
    let err = max_abs_diff(&q8, &expected);
    println!("fixture: Q8_0 max abs diff {err:.4}");
    assert!(err < 0.1, "{err}");
}

/// Writes tests/fixtures/full-forward.json from the reference:
/// `cargo test --test full_forward -- --ignored write_fixture`.
#[test]
#[ignore]
fn write_fixture() {
    let (page, events) = fixture_inputs();
    let expected = Reference::new(&seeded_weights(&HrsConfig::default(), MODEL_SEED)).scores(&page, &events);
    let json = serde_json::json!({
        "note": "expected scores from the float64 reference in tests/common/reference.rs; model = seeded_weights(default config, modelSeed)",
        "modelSeed": MODEL_SEED,
        "page": page,
        "events": events,
        "expectedScores": expected,
    });
    std::fs::write(common::fixture_dir().join("full-forward.json"), serde_json::to_string_pretty(&json).unwrap())
        .unwrap();
}
