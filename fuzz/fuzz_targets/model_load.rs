//! Model loading: any bytes give a ranker or a typed error, never a panic; a file that loads can
//! rerank a small page.
#![no_main]

use homerank::{HomePage, HomeRanker, RerankOptions, SessionEvent, Action};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut ranker) = HomeRanker::from_bytes(data) else { return };
    let dim = ranker.config().embedding_dim;
    let embedding = vec![0.25f32; dim];
    let json = serde_json::json!({
        "pageId": "fuzz", "embeddingDim": dim,
        "shelves": [{ "id": "s", "title": "S", "items": [
            { "id": "a", "type": "track", "serverScore": 1.0, "embedding": embedding },
            { "id": "b", "type": "episode", "serverScore": 0.5, "embedding": embedding },
        ]}],
    });
    let page = HomePage::from_json(&json.to_string()).expect("a valid page");
    ranker.observe(&SessionEvent::new("a", Action::Skip).with_ms_played(1000.0)).expect("a valid event");
    let result = ranker.rerank(&page, &RerankOptions::default()).expect("default options never refuse");
    assert_eq!(result.shelves[0].items.len(), 2);
});
