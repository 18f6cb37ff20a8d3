//! The page and event contract: parsing, defaults, and every validation error.

mod common;

use common::make_page;
use homerank::{Action, Error, HomePage, ItemType, RerankOptions, SessionEvent};

const PAGE: &str = r#"{
  "pageId": "p-1", "embeddingDim": 2, "someFutureField": {"x": 1},
  "shelves": [
    { "id": "made-for-you", "title": "Made for you", "pinned": true, "minItems": 1, "maxItems": 12,
      "items": [
        { "id": "track:123", "type": "track", "serverScore": 0.91, "embedding": [0.1, 0.2],
          "artistId": "artist:9", "durationMs": 215000 },
        { "id": "vr:1", "type": "vr-experience", "embedding": [0.0, 1.0] } ] },
    { "id": "podcasts", "items": [ { "id": "episode:7", "type": "episode", "embedding": [1, 0] } ] }
  ] }"#;

#[test]
fn parses_the_contract_with_defaults_and_ignores_unknown_fields() {
    let page = HomePage::from_json(PAGE).unwrap();
    assert_eq!(page.page_id, "p-1");
    assert_eq!(page.item_count(), 3);
    let s0 = &page.shelves[0];
    assert!(s0.pinned);
    assert_eq!((s0.min_items, s0.max_items), (Some(1), Some(12)));
    assert_eq!(s0.items[0].item_type, ItemType::Track);
    assert_eq!(s0.items[0].server_score, Some(0.91));
    assert_eq!(s0.items[0].artist_id.as_deref(), Some("artist:9"));
    // Unknown types become `other`; missing optional fields get their defaults.
    assert_eq!(s0.items[1].item_type, ItemType::Other);
    assert_eq!(s0.items[1].server_score, None);
    let s1 = &page.shelves[1];
    assert_eq!((s1.title.as_str(), s1.pinned, s1.max_items), ("", false, None));
    assert_eq!(s1.items[0].item_type, ItemType::Episode);
    page.validate(2).unwrap();
}

#[test]
fn malformed_json_is_a_typed_error() {
    for bad in [
        "",
        "{",
        "[]",
        r#"{"embeddingDim": "two", "shelves": []}"#,
        r#"{"embeddingDim": 2}"#,
        r#"{"embeddingDim": 2, "shelves": [{"id": "a", "items": [{"id": "x"}]}]}"#,
    ] {
        let err = HomePage::from_json(bad).unwrap_err();
        assert_eq!(err.code(), "INVALID_JSON", "{bad}: {err}");
    }
}

fn invalid(page: &HomePage) -> String {
    let err = page.validate(4).unwrap_err();
    assert!(matches!(err, Error::InvalidPage(_) | Error::EmbeddingDim { .. }), "{err}");
    err.to_string()
}

#[test]
fn every_page_validation_error_names_the_problem() {
    let ok = make_page(2, 3, 4, 1);
    ok.validate(4).unwrap();

    let mut p = ok.clone();
    p.shelves.clear();
    assert_eq!(invalid(&p), "invalid page: the page has no shelves");

    let mut p = ok.clone();
    p.embedding_dim = 8;
    assert_eq!(
        invalid(&p),
        "embedding dimension mismatch: the model expects 4 values per embedding, the page's embeddingDim has 8"
    );

    let mut p = ok.clone();
    p.shelves[1].items[2].embedding.pop();
    assert_eq!(
        invalid(&p),
        "embedding dimension mismatch: the model expects 4 values per embedding, shelf 1 ('shelf-1') item 2 ('s1-i2') has 3"
    );

    let mut p = ok.clone();
    p.shelves[0].items[1].embedding[3] = f32::NAN;
    assert_eq!(
        invalid(&p),
        "invalid page: shelf 0 ('shelf-0') item 1 ('s0-i1'): embedding[3] is NaN, expected a finite number"
    );

    let mut p = ok.clone();
    p.shelves[0].items[0].embedding[0] = f32::INFINITY;
    assert!(invalid(&p).contains("embedding[0] is inf"));

    let mut p = ok.clone();
    p.shelves[0].items[0].server_score = Some(f32::NEG_INFINITY);
    assert!(invalid(&p).contains("serverScore is -inf, expected a finite number"));

    let mut p = ok.clone();
    p.shelves[0].items[0].duration_ms = Some(-1.0);
    assert!(invalid(&p).contains("durationMs is -1"));

    let mut p = ok.clone();
    p.shelves[1].id = "shelf-0".into();
    assert_eq!(invalid(&p), "invalid page: shelf 1 ('shelf-0'): duplicate shelf id");

    let mut p = ok.clone();
    p.shelves[1].items[2].id = "s1-i0".into();
    assert_eq!(invalid(&p), "invalid page: shelf 1 ('shelf-1') item 2 ('s1-i0'): the id appears twice in this shelf");

    let mut p = ok.clone();
    p.shelves[0].items[0].id = String::new();
    assert_eq!(invalid(&p), "invalid page: shelf 0 ('shelf-0') item 0 (''): id is empty");

    let mut p = ok.clone();
    p.shelves[0].id = String::new();
    assert_eq!(invalid(&p), "invalid page: shelf 0: id is empty");

    let mut p = ok.clone();
    p.shelves[0].items[0].artist_id = Some("a".repeat(600));
    assert!(invalid(&p).contains("artistId is 600 bytes long, at most 512 are allowed"));

    let mut p = ok.clone();
    p.shelves[0].min_items = Some(5);
    p.shelves[0].max_items = Some(2);
    assert_eq!(invalid(&p), "invalid page: shelf 0 ('shelf-0'): minItems 5 is greater than maxItems 2");

    let big = make_page(6, 900, 4, 2);
    assert_eq!(invalid(&big), "invalid page: the page has 5400 items, at most 5000 are supported");
}

#[test]
fn the_same_item_on_two_shelves_and_empty_shelves_are_allowed() {
    let mut p = make_page(2, 3, 4, 1);
    p.shelves[1].items[0] = p.shelves[0].items[0].clone();
    p.shelves.push(homerank::Shelf {
        id: "empty".into(),
        title: String::new(),
        pinned: false,
        min_items: None,
        max_items: None,
        items: vec![],
    });
    p.validate(4).unwrap();
}

#[test]
fn events_parse_and_validate() {
    let e = SessionEvent::from_json(
        r#"{"itemId": "track:123", "action": "play", "msPlayed": 32000, "timestampMs": 1763800000000, "extra": true}"#,
    )
    .unwrap();
    assert_eq!(e.action, Action::Play);
    assert_eq!(e.ms_played, Some(32000.0));
    e.validate(4).unwrap();

    let err = SessionEvent::from_json(r#"{"itemId": "x", "action": "teleport"}"#).unwrap_err();
    assert_eq!(err.code(), "INVALID_JSON");
    assert!(err.to_string().contains("unknown variant `teleport`"), "{err}");

    let all =
        SessionEvent::from_jsonl("{\"itemId\":\"a\",\"action\":\"skip\"}\n\n{\"itemId\":\"b\",\"action\":\"like\"}\n")
            .unwrap();
    assert_eq!(all.len(), 2);
    let err = SessionEvent::from_jsonl("{\"itemId\":\"a\",\"action\":\"skip\"}\nnot json\n").unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");

    let check = |e: SessionEvent| e.validate(4).unwrap_err().to_string();
    assert_eq!(check(SessionEvent::new("", Action::Play)), "invalid event: itemId is empty");
    assert_eq!(
        check(SessionEvent::new("t", Action::Play).with_ms_played(f64::NAN)),
        "invalid event: event for item 't': msPlayed is NaN, expected a finite number >= 0"
    );
    assert!(check(SessionEvent::new("t", Action::Play).with_ms_played(-5.0)).contains("msPlayed is -5"));
    assert_eq!(
        check(SessionEvent::new("t", Action::Play).with_embedding(vec![0.0; 3])),
        "embedding dimension mismatch: the model expects 4 values per embedding, event for item 't' has 3"
    );
    assert!(check(SessionEvent::new("t", Action::Play).with_embedding(vec![0.0, f32::NAN, 0.0, 0.0]))
        .contains("embedding[1] is NaN"));
    assert!(check(SessionEvent::new("x".repeat(513), Action::Play)).contains("itemId is 513 bytes long"));
}

#[test]
fn options_parse_with_defaults_and_refuse_typos_and_bad_values() {
    assert_eq!(RerankOptions::from_json("{}").unwrap(), RerankOptions::default());
    let o = RerankOptions::from_json(r#"{"dedup": false, "maxArtistRun": 2}"#).unwrap();
    assert!(!o.dedup && o.reorder_shelves);
    assert_eq!(o.max_artist_run, Some(2));
    let err = RerankOptions::from_json(r#"{"dedupe": true}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `dedupe`"), "{err}");
    let o = RerankOptions { max_artist_run: Some(0), ..Default::default() };
    assert_eq!(o.validate().unwrap_err().code(), "INVALID_OPTIONS");
    let o = RerankOptions { shelf_aggregate_top_k: 0, ..Default::default() };
    assert_eq!(o.validate().unwrap_err().code(), "INVALID_OPTIONS");
}
