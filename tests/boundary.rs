//! The Rust side of issue 13 (the JS boundary; js/tests/boundary.test.mjs is the JS side): the
//! GGUF reader's size arithmetic is checked (a Q8_0 tensor of shape [15790321, 256] is 4294967312
//! bytes, which wraps to 16 in 32-bit arithmetic), `forget()` leaves no byte of an event or of the
//! item cache in the session's buffers, messages cap what they echo, and the JS `ErrorCode`
//! union is `Error::CODES`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{fixture_ranker, make_page};
use homerank::model::gguf::{self, TensorOut, TensorType};
use homerank::model::{ModelFile, Precision};
use homerank::{Action, Error, HomeRanker, RerankOptions, SessionEvent};

// === An allocator that can see what is freed and what is still held ===

/// The system allocator; on the threads that ask (`TRACK`), it records live blocks and, while
/// `SCAN` is set, checks every block freed for the secrets before it goes.
struct Watching;

const SLOTS: usize = 1 << 16;

struct Live {
    blocks: [(usize, usize); SLOTS],
    len: usize,
}

static LIVE: Mutex<Live> = Mutex::new(Live { blocks: [(0, 0); SLOTS], len: 0 });
/// Freed blocks that still held a secret.
static FREED_WITH_SECRET: AtomicUsize = AtomicUsize::new(0);
/// Blocks of this thread the table had no room for (the test requires none).
static UNTRACKED: AtomicUsize = AtomicUsize::new(0);
static SECRETS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static SCAN: Cell<bool> = const { Cell::new(false) };
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() && TRACK.with(Cell::get) {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if live.len < SLOTS {
                let n = live.len;
                live.blocks[n] = (p as usize, layout.size());
                live.len += 1;
            } else {
                UNTRACKED.fetch_add(1, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if TRACK.with(Cell::get) {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = live.blocks[..live.len].iter().position(|&(p, _)| p == ptr as usize) {
                let last = live.len - 1;
                live.blocks[i] = live.blocks[last];
                live.len = last;
            }
            drop(live);
            if SCAN.with(Cell::get) {
                // SECRETS is not touched (no allocation) while SCAN is set.
                let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
                let block = std::slice::from_raw_parts(ptr, layout.size());
                if secrets.iter().any(|s| contains(block, s)) {
                    FREED_WITH_SECRET.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// Which secrets some live tracked block holds.
fn held(secrets: &[Vec<u8>]) -> Vec<bool> {
    // Allocated before the lock: the allocator takes it too.
    let mut blocks: Vec<(usize, usize)> = Vec::with_capacity(SLOTS);
    {
        let live = LIVE.lock().unwrap();
        blocks.extend_from_slice(&live.blocks[..live.len]);
    }
    secrets
        .iter()
        .map(|s| {
            blocks.iter().any(|&(p, n)| {
                // SAFETY: a live block of this thread, which frees nothing meanwhile.
                contains(unsafe { std::slice::from_raw_parts(p as *const u8, n) }, s)
            })
        })
        .collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn forget_leaves_no_event_or_cached_bytes_in_the_session() {
    let mut ranker: HomeRanker = fixture_ranker(5, Precision::Q8_0);
    const EVENT_ID: &str = "secret-event-item-5f1c9e07";
    const PAGE_ID: &str = "secret-page-item-8d2e7a31";
    const ARTIST: &str = "secret-artist-0b7d44e2";
    let event_embedding: Vec<f32> = (0..32).map(|i| 1234.5678 + i as f32 * 0.001).collect();
    let page_embedding: Vec<f32> = (0..32).map(|i| -4321.125 - i as f32 * 0.001).collect();
    let secrets =
        vec![EVENT_ID.into(), PAGE_ID.into(), ARTIST.into(), f32_bytes(&event_embedding), f32_bytes(&page_embedding)];
    *SECRETS.lock().unwrap() = secrets.clone();

    TRACK.with(|t| t.set(true));
    {
        let mut page = make_page(2, 5, 32, 11);
        page.shelves[0].items[1].id = PAGE_ID.into();
        page.shelves[0].items[1].embedding = page_embedding.clone();
        page.shelves[0].items[1].artist_id = Some(ARTIST.into());
        let result = ranker.rerank(&page, &RerankOptions::default()).unwrap();
        assert!(result.fallback.is_none(), "{:?}", result.fallback);
        ranker
            .observe(&SessionEvent::new(EVENT_ID, Action::Skip).with_ms_played(1234.0).with_embedding(event_embedding))
            .unwrap();
        ranker.observe(&SessionEvent::new(PAGE_ID, Action::Complete)).unwrap();
        // The page, the result and the events (the caller's copies) are dropped here.
    }
    assert_eq!(ranker.stats().events_held, 2);
    assert_eq!(held(&secrets), vec![true; 5], "the session holds every secret before forget()");

    SCAN.with(|s| s.set(true));
    ranker.forget();
    SCAN.with(|s| s.set(false));
    let after = held(&secrets);
    TRACK.with(|t| t.set(false));

    assert_eq!(UNTRACKED.load(Ordering::Relaxed), 0);
    assert_eq!(FREED_WITH_SECRET.load(Ordering::Relaxed), 0, "forget() freed blocks that still held a secret");
    // The ids are in no block the ranker still holds. (Embeddings may remain in the model's
    // scratch buffers, which are not the session's: only the ids are checked there.)
    assert_eq!(&after[..3], &[false, false, false], "ids still held after forget(): {after:?}");
    assert_eq!((ranker.stats().events_held, ranker.stats().cached_items), (0, 0));
    // The session works as before afterwards.
    ranker.observe(&SessionEvent::new("s0-i0", Action::Play)).unwrap();
    assert_eq!(ranker.stats().events_held, 1);
}

// === The GGUF reader ===

/// A file with one Q8_0 tensor of `shape` and 16 bytes of data, padded to `len` bytes (the
/// reader bounds each dimension by 8 × the file's length).
fn q8_file(shape: &[usize], len: usize) -> Vec<u8> {
    let (mut bytes, _) = gguf::write(&[], &[TensorOut { name: "t", dtype: TensorType::Q8_0, shape, data: &[0u8; 16] }]);
    bytes.resize(len.max(bytes.len()), 0);
    bytes
}

#[test]
fn q8_0_sizes_are_checked_not_wrapped() {
    // 15790321 × 256 = 4042322176 values (a u32), 126322568 blocks × 34 = 4294967312 bytes:
    // 2^32 + 16, which 32-bit arithmetic wraps to 16, the data given.
    let elements = 15_790_321usize * 256;
    assert_eq!(TensorType::Q8_0.bytes_for_u64(elements as u64), Some(4_294_967_312));
    assert_eq!((4_294_967_312u64 as u32), 16);
    let err = gguf::parse(&q8_file(&[15_790_321, 256], 2_000_000)).unwrap_err();
    assert!(err.to_string().contains("tensor 't' of shape [15790321, 256] needs 4294967312 bytes"), "{err}");
    assert_eq!(err.code(), "INVALID_MODEL");
    // The same through the model loader.
    assert_eq!(ModelFile::from_bytes(&q8_file(&[15_790_321, 256], 2_000_000)).unwrap_err().code(), "INVALID_MODEL");
    // Sizes that overflow 64 bits are refused too, not wrapped.
    assert_eq!(TensorType::Q8_0.bytes_for_u64(u64::MAX / 32 * 32), None);
    assert_eq!(TensorType::F32.bytes_for_u64(u64::MAX / 2), None);
    assert_eq!(TensorType::Q8_0.bytes_for(usize::MAX / 32 * 32), None);
    assert_eq!(TensorType::Q8_0.bytes_for(64), Some(68));
    // Element counts whose product overflows: four dimensions of 2^16 + 1 in a 1 MiB file.
    let d = (1 << 16) + 1;
    let err = gguf::parse(&q8_file(&[d * 32, d, d, d], 1 << 20)).unwrap_err().to_string();
    assert!(err.contains("does not fit its type") || err.contains("needs"), "{err}");
    // A tensor that fits its data still parses.
    let (ok, _) =
        gguf::write(&[], &[TensorOut { name: "t", dtype: TensorType::Q8_0, shape: &[1, 32], data: &[7u8; 34] }]);
    assert_eq!(gguf::parse(&ok).unwrap().tensors["t"].data, &[7u8; 34]);
}

// === Messages and codes ===

#[test]
fn messages_cap_the_values_they_echo() {
    let id = "x".repeat(10_000_000);
    let e = Error::InvalidPage(format!(
        "shelf 0 ('s') item 3 ('{id}'): id is {} bytes long, at most 512 are allowed",
        id.len()
    ));
    let text = e.to_string();
    assert!(text.len() < 300, "{} bytes", text.len());
    assert!(text.contains("… (10000000 bytes)'): id is 10000000 bytes long"), "{text}");
    let e = Error::Checksum { expected: "f".repeat(60_000), actual: "ab".into() };
    assert!(e.to_string().len() < 200 && e.to_string().contains("(60000 bytes)"));
    assert!(Error::Json { what: "page", message: "y".repeat(100_000) }.to_string().len() < 2_200);
}

#[test]
fn the_js_error_code_union_is_error_codes() {
    let dts = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/wasm/contract.d.ts")).unwrap();
    let union = dts.split("export type ErrorCode =").nth(1).expect("contract.d.ts exports ErrorCode");
    let union = &union[..union.find(';').expect("the union ends")];
    let codes: Vec<&str> = union.split('"').skip(1).step_by(2).collect();
    assert_eq!(codes, Error::CODES);
}
