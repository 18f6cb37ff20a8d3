//! The mid-term context on the device: off by default; ended sessions' events are kept (bounded,
//! with a TTL) and read before the session's; the profile bytes round-trip, and a corrupt or
//! foreign blob is refused with a reason and changes nothing; `forget()` wipes it all.

mod common;

use common::{fixture_ranker, make_page};
use homerank::model::Precision;
use homerank::profile::{DEFAULT_MID_TERM_EVENTS, DEFAULT_MID_TERM_TTL_MS};
use homerank::{Action, HomePage, HomeRanker, RerankOptions, RerankResult, SessionEvent};

const DAY: f64 = 86_400_000.0;
const T0: f64 = 1_767_225_600_000.0;

fn event(page: &HomePage, k: usize, action: Action, t: f64) -> SessionEvent {
    let items: Vec<_> = page.shelves.iter().flat_map(|s| &s.items).collect();
    let mut e = SessionEvent::new(items[k % items.len()].id.clone(), action);
    e.ms_played = Some(if action == Action::Skip { 3_000.0 } else { 180_000.0 });
    e.timestamp_ms = Some(t);
    e
}

fn listen(ranker: &mut HomeRanker, page: &HomePage, n: usize, t: f64) {
    for k in 0..n {
        let action = if k % 3 == 0 { Action::Skip } else { Action::Complete };
        ranker.observe(&event(page, k * 7 + 1, action, t + k as f64 * 60_000.0)).unwrap();
    }
}

fn scores(r: &RerankResult) -> Vec<(String, Option<f32>)> {
    r.shelves.iter().flat_map(|s| s.items.iter().map(|i| (i.id.clone(), i.score))).collect()
}

fn ranker_on() -> HomeRanker {
    let mut r = fixture_ranker(3, Precision::Q8_0);
    r.set_mid_term(DEFAULT_MID_TERM_EVENTS, DEFAULT_MID_TERM_TTL_MS);
    r
}

#[test]
fn off_by_default_an_ended_session_leaves_nothing() {
    let page = make_page(4, 10, 32, 1);
    let mut ranker = fixture_ranker(3, Precision::Q8_0);
    assert_eq!(ranker.stats().mid_term_capacity, 0);
    ranker.rerank(&page, &RerankOptions::default()).unwrap();
    listen(&mut ranker, &page, 6, T0);
    ranker.end_session(T0 + DAY);
    assert_eq!((ranker.session().len(), ranker.stats().mid_term_events), (0, 0));
    let r = ranker.rerank(&page, &RerankOptions::default()).unwrap();
    assert_eq!((r.events_used, r.order()), (0, RerankResult::server_order(&page).order()));
}

#[test]
fn earlier_sessions_inform_the_next_one_and_count_as_its_context() {
    let page = make_page(4, 10, 32, 1);
    let options = RerankOptions::default();
    let mut ranker = ranker_on();
    ranker.rerank(&page, &options).unwrap();
    listen(&mut ranker, &page, 6, T0);
    let in_session = ranker.rerank(&page, &options).unwrap();
    ranker.end_session(T0 + DAY);
    assert_eq!((ranker.session().len(), ranker.stats().mid_term_events), (0, 6));
    // A new session with no events of its own is ranked from the earlier one, as it was.
    let next = ranker.rerank(&page, &options).unwrap();
    assert_eq!(next.events_used, 6);
    assert_eq!(scores(&next), scores(&in_session));
    // The session's own events come after the earlier ones (the model's order, oldest first).
    listen(&mut ranker, &page, 2, T0 + DAY + 1.0);
    assert_eq!(ranker.rerank(&page, &options).unwrap().events_used, 8);
}

#[test]
fn earlier_events_are_bounded_and_expire() {
    let page = make_page(4, 10, 32, 1);
    let mut ranker = fixture_ranker(3, Precision::Q8_0);
    ranker.set_mid_term(10, 2.0 * DAY);
    ranker.rerank(&page, &RerankOptions::default()).unwrap();
    listen(&mut ranker, &page, 30, T0);
    ranker.end_session(T0 + 1_000.0);
    assert_eq!(ranker.stats().mid_term_events, 10, "the latest 10");
    listen(&mut ranker, &page, 4, T0 + 1.5 * DAY);
    ranker.end_session(T0 + 1.5 * DAY + 1_000.0);
    assert_eq!(ranker.stats().mid_term_events, 10);
    // Three days on, the first session is past the TTL; the second is not.
    ranker.end_session(T0 + 3.0 * DAY);
    assert_eq!(ranker.stats().mid_term_events, 4);
    ranker.end_session(T0 + 10.0 * DAY);
    assert_eq!(ranker.stats().mid_term_events, 0);
}

#[test]
fn the_profile_round_trips_to_another_ranker_and_a_bad_blob_changes_nothing() {
    let page = make_page(4, 10, 32, 1);
    let options = RerankOptions::default();
    let mut first = ranker_on();
    first.rerank(&page, &options).unwrap();
    listen(&mut first, &page, 9, T0);
    first.end_session(T0 + DAY);
    let bytes = first.export_profile(T0 + DAY);
    assert_eq!(&bytes[..4], b"HRMP");

    let mut second = ranker_on();
    assert_eq!(second.import_profile(&bytes, T0 + DAY).unwrap(), 9);
    assert_eq!(scores(&second.rerank(&page, &options).unwrap()), scores(&first.rerank(&page, &options).unwrap()));

    for bad in [b"not a profile".to_vec(), bytes[..bytes.len() - 2].to_vec(), {
        let mut b = bytes.clone();
        b[20] ^= 0x40;
        b
    }] {
        let err = second.import_profile(&bad, T0 + DAY).unwrap_err();
        assert_eq!(err.code(), "INVALID_PROFILE", "{err}");
        assert_eq!(second.stats().mid_term_events, 9, "a refused blob changes nothing");
    }
    // Read a month later, everything is past the TTL.
    assert_eq!(second.import_profile(&bytes, T0 + 30.0 * DAY).unwrap(), 0);
    // A ranker with the context off keeps none of it.
    assert_eq!(fixture_ranker(3, Precision::Q8_0).import_profile(&bytes, T0 + DAY).unwrap(), 0);
}

#[test]
fn forget_wipes_the_session_and_the_earlier_events() {
    let page = make_page(4, 10, 32, 1);
    let mut ranker = ranker_on();
    ranker.rerank(&page, &RerankOptions::default()).unwrap();
    listen(&mut ranker, &page, 5, T0);
    ranker.end_session(T0 + DAY);
    listen(&mut ranker, &page, 3, T0 + DAY);
    ranker.forget();
    assert_eq!((ranker.session().len(), ranker.stats().mid_term_events), (0, 0));
    let empty = ranker.export_profile(T0 + DAY);
    let mut other = ranker_on();
    assert_eq!(other.import_profile(&empty, T0 + DAY).unwrap(), 0);
    assert_eq!(ranker.stats().mid_term_capacity, DEFAULT_MID_TERM_EVENTS, "forget keeps the setting");
}

#[test]
fn a_store_keeps_the_profile_and_a_bad_blob_in_it_is_deleted_with_the_reason() {
    use homerank::profile::{MemoryStore, ProfileStore, Restored};
    let page = make_page(4, 10, 32, 1);
    let mut store = MemoryStore::default();
    let mut first = ranker_on();
    assert_eq!(first.restore_profile(&mut store, "me", T0).unwrap(), Restored::Nothing);
    first.rerank(&page, &RerankOptions::default()).unwrap();
    listen(&mut first, &page, 4, T0);
    first.save_profile(&mut store, "me", T0 + 1_000.0).unwrap();
    let mut second = ranker_on();
    assert_eq!(second.restore_profile(&mut store, "me", T0 + DAY).unwrap(), Restored::Events(4));
    store.set("me", b"HRMP garbage").unwrap();
    let Restored::Dropped(why) = ranker_on().restore_profile(&mut store, "me", T0 + DAY).unwrap() else { panic!() };
    assert!(why.contains("invalid mid-term profile"), "{why}");
    assert_eq!(store.get("me").unwrap(), None, "deleted");
}
