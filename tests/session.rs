//! Session state: ordering, late resolution of embeddings, bounds.

mod common;

use common::{fixture_ranker, make_page};
use homerank::model::Precision;
use homerank::testing::SessionState;
use homerank::{Action, RerankOptions, SessionEvent};

#[test]
fn events_resolve_once_their_item_is_seen_on_a_page() {
    let mut ranker = fixture_ranker(1, Precision::Q8_0);
    let page = make_page(2, 4, 32, 8);
    ranker.observe(&SessionEvent::new("s1-i1", Action::Play)).unwrap();
    assert_eq!(ranker.stats().events_resolved, 0);
    let result = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!(ranker.stats().events_resolved, 1);
    assert_eq!(result.events_used, 1);
}

#[test]
fn an_event_embedding_resolves_without_a_page() {
    let mut ranker = fixture_ranker(1, Precision::Q8_0);
    ranker.observe(&SessionEvent::new("elsewhere", Action::Like).with_embedding(vec![0.1; 32])).unwrap();
    assert_eq!(ranker.stats().events_resolved, 1);
    assert_eq!(ranker.stats().cached_items, 1);
    let page = make_page(1, 3, 32, 8);
    assert_eq!(ranker.rerank(&page, &RerankOptions::default()).unwrap().events_used, 1);
}

#[test]
fn late_events_take_their_place_in_time_and_the_buffer_is_bounded() {
    // Observable through scores: the same events in time order, delivered shuffled, rerank alike.
    let page = make_page(2, 6, 32, 8);
    let ids: Vec<String> = page.items().map(|(_, _, i)| i.id.clone()).collect();
    let events: Vec<SessionEvent> = (0..6)
        .map(|k| {
            let mut e = SessionEvent::new(&ids[k * 2], if k % 2 == 0 { Action::Skip } else { Action::Complete });
            e.timestamp_ms = Some(1_000.0 * k as f64);
            e
        })
        .collect();
    let mut shuffled = events.clone();
    shuffled.swap(0, 4);
    shuffled.swap(1, 5);
    let run = |evs: &[SessionEvent]| {
        let mut r = fixture_ranker(3, Precision::Q8_0);
        r.observe_all(evs).unwrap();
        let mut out = r.rerank(&page, &RerankOptions::default()).unwrap();
        out.elapsed_ms = 0.0;
        out
    };
    assert_eq!(run(&events), run(&shuffled));
    let mut reversed = events.clone();
    reversed.iter_mut().rev().enumerate().for_each(|(i, e)| e.timestamp_ms = Some(i as f64));
    assert_ne!(run(&events), run(&reversed), "recency must matter");

    let mut s = SessionState::new(3, 2);
    assert_eq!(s.max_events(), 3);
    assert!(s.is_empty());
    s.forget();
    assert_eq!((s.len(), s.cached_items()), (0, 0));
}
