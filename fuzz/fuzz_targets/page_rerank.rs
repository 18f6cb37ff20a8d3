//! Page parsing + rerank: `page JSON \0 events JSONL \0 options JSON`. Whatever the bytes, parsing
//! is a typed error or a value, and a rerank of a parsed page returns every (shelf, item) exactly
//! once — placed or listed as removed by dedup — or a typed error in strict mode. Never a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use homerank::{Error, HomePage, HomeRanker, RerankOptions, SessionEvent};
use libfuzzer_sys::fuzz_target;

static MODEL: &[u8] = include_bytes!("../../models/homerank-s.gguf");

/// One ranker for the whole run (loading per input would dominate); each input starts from
/// `forget()`, which is itself under test: a leftover event would change results between runs.
fn ranker() -> std::sync::MutexGuard<'static, HomeRanker> {
    static LOADED: OnceLock<Mutex<HomeRanker>> = OnceLock::new();
    let mut ranker = LOADED
        .get_or_init(|| Mutex::new(HomeRanker::from_bytes(MODEL).expect("the shipped model loads")))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    ranker.forget();
    ranker
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let (page, events, options) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
    let Ok(page) = HomePage::from_json(page) else { return };
    let mut ranker = ranker();
    if let Ok(events) = SessionEvent::from_jsonl(events) {
        let _ = ranker.observe_all(&events);
    }
    let options = match options.map(RerankOptions::from_json) {
        Some(Ok(options)) => options,
        Some(Err(_)) => return,
        None => RerankOptions::default(),
    };
    let result = match ranker.rerank(&page, &options) {
        Ok(result) => result,
        // Options that parse but break a rule (`maxArtistRun: 0`, …) are refused whole.
        Err(Error::InvalidOptions(_)) => {
            assert!(options.validate().is_err(), "options refused although valid");
            return;
        }
        Err(e) => {
            assert!(options.strict, "only strict mode may refuse a page: {e}");
            return;
        }
    };
    let mut want: Vec<(&str, &str)> =
        page.shelves.iter().flat_map(|s| s.items.iter().map(|i| (s.id.as_str(), i.id.as_str()))).collect();
    let mut got: Vec<(&str, &str)> =
        result.shelves.iter().flat_map(|s| s.items.iter().map(|i| (s.id.as_str(), i.id.as_str()))).collect();
    got.extend(result.removed.iter().map(|r| (r.shelf_id.as_str(), r.id.as_str())));
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(want, got, "items lost or duplicated");
});
