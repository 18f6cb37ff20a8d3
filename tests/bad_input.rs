//! The bad-input suite (Rust API): every case gives a typed error or the exact server order with
//! `fallback` set — never a panic, never a lost or duplicated item. The JS API has its own suite
//! (js/tests/bad-input.test.mjs) and the CLI its cases in tests/cli.rs.

mod common;

use common::{fixture_model_bytes, make_page};
use homerank::model::Precision;
use homerank::{Action, Error, HomePage, HomeRanker, RerankOptions, RerankResult, SessionEvent};

/// What a page case must produce.
enum Want {
    /// The server order with a fallback reason containing this text.
    Fallback(&'static str),
    /// The server order with no fallback (a documented, non-error behaviour).
    ServerOrder,
    /// Reranked normally.
    Reranked,
}

fn ranker() -> HomeRanker {
    let mut r = HomeRanker::from_bytes(&fixture_model_bytes(11, Precision::Q8_0)).unwrap();
    r.observe(&SessionEvent::new("s0-i0", Action::Skip).with_ms_played(1500.0)).unwrap();
    r.observe(&SessionEvent::new("s1-i1", Action::Complete)).unwrap();
    r
}

fn same_items(page: &HomePage, result: &RerankResult) {
    let mut want: Vec<(String, String)> =
        page.shelves.iter().flat_map(|s| s.items.iter().map(|i| (s.id.clone(), i.id.clone()))).collect();
    let mut got: Vec<(String, String)> =
        result.shelves.iter().flat_map(|s| s.items.iter().map(|i| (s.id.clone(), i.id.clone()))).collect();
    got.extend(result.removed.iter().map(|r| (r.shelf_id.clone(), r.id.clone())));
    want.sort();
    got.sort();
    assert_eq!(want, got, "items lost or duplicated");
}

fn check_page(name: &str, page: &HomePage, want: Want) {
    let mut r = ranker();
    // Strict mode may refuse; it must never panic.
    let _ = r.rerank(page, &RerankOptions { strict: true, ..Default::default() });
    let result = r.rerank(page, &RerankOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    same_items(page, &result);
    let server = RerankResult::server_order(page).order();
    match want {
        Want::Fallback(text) => {
            assert_eq!(result.order(), server, "{name}: not the server order");
            let reason = result.fallback.unwrap_or_else(|| panic!("{name}: no fallback reason"));
            assert!(reason.contains(text), "{name}: fallback '{reason}' lacks '{text}'");
        }
        Want::ServerOrder => {
            assert_eq!(result.order(), server, "{name}");
            assert_eq!(result.fallback, None, "{name}");
        }
        Want::Reranked => assert_eq!(result.fallback, None, "{name}"),
    }
}

#[test]
fn bad_pages() {
    let base = || make_page(3, 6, 32, 1);
    type Edit = fn(&mut HomePage);
    let cases: Vec<(&str, Edit, Want)> = vec![
        (
            "NaN in an embedding",
            |p| p.shelves[0].items[2].embedding[5] = f32::NAN,
            Want::Fallback("embedding[5] is NaN"),
        ),
        ("+inf in an embedding", |p| p.shelves[1].items[0].embedding[0] = f32::INFINITY, Want::Fallback("is inf")),
        (
            "-inf server score",
            |p| p.shelves[2].items[1].server_score = Some(f32::NEG_INFINITY),
            Want::Fallback("serverScore"),
        ),
        ("NaN server score", |p| p.shelves[2].items[1].server_score = Some(f32::NAN), Want::Fallback("serverScore")),
        ("huge but finite server score", |p| p.shelves[0].items[0].server_score = Some(3e38), Want::Reranked),
        (
            "embedding one short",
            |p| {
                p.shelves[0].items[1].embedding.pop();
            },
            Want::Fallback("has 31"),
        ),
        ("embedding one long", |p| p.shelves[0].items[1].embedding.push(0.5), Want::Fallback("has 33")),
        ("empty embedding", |p| p.shelves[1].items[3].embedding.clear(), Want::Fallback("has 0")),
        ("page embeddingDim wrong", |p| p.embedding_dim = 64, Want::Fallback("embeddingDim")),
        ("duplicate id in a shelf", |p| p.shelves[0].items[3].id = "s0-i1".into(), Want::Fallback("appears twice")),
        ("duplicate shelf id", |p| p.shelves[2].id = "shelf-0".into(), Want::Fallback("duplicate shelf id")),
        ("empty item id", |p| p.shelves[0].items[0].id.clear(), Want::Fallback("id is empty")),
        ("empty shelf id", |p| p.shelves[1].id.clear(), Want::Fallback("id is empty")),
        ("over-long item id", |p| p.shelves[0].items[0].id = "x".repeat(10_000), Want::Fallback("at most 512")),
        ("negative duration", |p| p.shelves[0].items[0].duration_ms = Some(-5.0), Want::Fallback("durationMs")),
        (
            "minItems above maxItems",
            |p| {
                p.shelves[0].min_items = Some(9);
                p.shelves[0].max_items = Some(3);
            },
            Want::Fallback("minItems 9"),
        ),
        ("no shelves", |p| p.shelves.clear(), Want::Fallback("no shelves")),
        ("all shelves empty", |p| p.shelves.iter_mut().for_each(|s| s.items.clear()), Want::ServerOrder),
        ("one empty shelf", |p| p.shelves[1].items.clear(), Want::Reranked),
        ("zero embedding", |p| p.shelves[0].items[0].embedding.iter_mut().for_each(|v| *v = 0.0), Want::Reranked),
        (
            "tiny embedding values",
            |p| p.shelves[0].items[0].embedding.iter_mut().for_each(|v| *v = 1e-38),
            Want::Reranked,
        ),
        (
            "huge embedding values",
            |p| p.shelves[0].items[0].embedding.iter_mut().for_each(|v| *v = 3e38),
            Want::Reranked,
        ),
        (
            "same item on every shelf",
            |p| {
                let it = p.shelves[0].items[0].clone();
                p.shelves[1].items[0] = it.clone();
                p.shelves[2].items[0] = it;
            },
            Want::Reranked,
        ),
        ("maxItems zero", |p| p.shelves[0].max_items = Some(0), Want::Reranked),
        ("unicode ids", |p| p.shelves[0].items[0].id = "трек:🎵".into(), Want::Reranked),
    ];
    assert!(cases.len() >= 25);
    for (name, edit, want) in cases {
        let mut page = base();
        edit(&mut page);
        check_page(name, &page, want);
    }
}

#[test]
fn oversized_pages_fall_back_and_the_limit_itself_reranks() {
    let at_limit = make_page(100, 50, 32, 2);
    check_page("5,000 items", &at_limit, Want::Reranked);
    let over = make_page(1000, 50, 32, 3);
    check_page("50,000 items", &over, Want::Fallback("50000 items"));
}

#[test]
fn bad_json_is_a_typed_error() {
    let cases = [
        ("empty", ""),
        ("not JSON", "shelves: []"),
        ("array", "[1, 2]"),
        ("wrong type for shelves", r#"{"embeddingDim": 32, "shelves": {}}"#),
        (
            "string embedding",
            r#"{"embeddingDim": 32, "shelves": [{"id": "a", "items": [{"id": "x", "embedding": "0.1"}]}]}"#,
        ),
        ("missing embedding", r#"{"embeddingDim": 32, "shelves": [{"id": "a", "items": [{"id": "x"}]}]}"#),
        ("negative dim", r#"{"embeddingDim": -1, "shelves": []}"#),
        ("number as id", r#"{"embeddingDim": 1, "shelves": [{"id": 5, "items": []}]}"#),
        ("truncated", r#"{"embeddingDim": 32, "shelves": [{"id": "a", "items": [{"id""#),
        ("NaN literal", r#"{"embeddingDim": 1, "shelves": [{"id": "a", "items": [{"id": "x", "embedding": [NaN]}]}]}"#),
    ];
    for (name, json) in cases {
        let err = HomePage::from_json(json).expect_err(name);
        assert_eq!(err.code(), "INVALID_JSON", "{name}: {err}");
        assert!(err.to_string().starts_with("invalid page JSON: "), "{name}: {err}");
    }
}

#[test]
fn bad_events_are_refused_and_change_nothing() {
    let cases: Vec<(&str, &str, &str)> = vec![
        ("unknown action", r#"{"itemId": "a", "action": "teleport"}"#, "INVALID_JSON"),
        ("missing action", r#"{"itemId": "a"}"#, "INVALID_JSON"),
        ("action as number", r#"{"itemId": "a", "action": 3}"#, "INVALID_JSON"),
        ("msPlayed as string", r#"{"itemId": "a", "action": "play", "msPlayed": "10"}"#, "INVALID_JSON"),
        ("negative msPlayed", r#"{"itemId": "a", "action": "play", "msPlayed": -1}"#, "INVALID_EVENT"),
        ("negative timestamp", r#"{"itemId": "a", "action": "play", "timestampMs": -1}"#, "INVALID_EVENT"),
        ("empty itemId", r#"{"itemId": "", "action": "play"}"#, "INVALID_EVENT"),
        ("wrong embedding length", r#"{"itemId": "a", "action": "like", "embedding": [1, 2, 3]}"#, "EMBEDDING_DIM"),
    ];
    for (name, json, code) in cases {
        let mut r = ranker();
        let before = r.stats();
        let err = SessionEvent::from_json(json).and_then(|e| r.observe(&e).map(|_| ())).expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
        assert_eq!(r.stats(), before, "{name}: the session changed");
    }
    let mut r = ranker();
    let flood: Vec<SessionEvent> = (0..10_000).map(|i| SessionEvent::new(format!("x{i}"), Action::Dwell)).collect();
    assert_eq!(r.observe_all(&flood).unwrap(), 10_000);
    assert_eq!(r.stats().events_held, 64);
    let too_many: Vec<SessionEvent> = (0..100_001).map(|i| SessionEvent::new(format!("x{i}"), Action::Dwell)).collect();
    assert_eq!(r.observe_all(&too_many).unwrap_err().code(), "INVALID_EVENT");
}

#[test]
fn bad_model_files_are_typed_errors() {
    let good = fixture_model_bytes(11, Precision::Q8_0);
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("4 bytes".into(), b"GGUF".to_vec()),
        ("text".into(), b"this is not a model".to_vec()),
        ("all zero".into(), vec![0; good.len()]),
        ("all ones".into(), vec![0xFF; 4096]),
    ];
    for cut in [8, 24, 100, 1000, good.len() / 3, good.len() - 1] {
        cases.push((format!("truncated at {cut}"), good[..cut].to_vec()));
    }
    for at in [5, 16, 40, 300, 900, good.len() / 2, good.len() - 40] {
        let mut b = good.clone();
        b[at] ^= 0x5A;
        cases.push((format!("flipped byte {at}"), b));
    }
    let mut version = good.clone();
    version[4] = 9;
    cases.push(("GGUF version 9".into(), version));
    for (name, bytes) in cases {
        match HomeRanker::from_bytes(&bytes) {
            Ok(_) => panic!("{name}: loaded"),
            Err(e) => assert!(
                matches!(e, Error::InvalidModel(_) | Error::Checksum { .. } | Error::UnsupportedSchema { .. }),
                "{name}: {e}"
            ),
        }
    }
}
