//! What a rerank returns: the page in its new order, with scores and both ranks.

use serde::{Deserialize, Serialize};

use crate::experiment::{Assignment, Exposure};
use crate::page::HomePage;

/// The reranked page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RerankResult {
    /// The page's `pageId`, echoed.
    pub page_id: String,
    /// Shelves in their new order.
    pub shelves: Vec<ShelfResult>,
    /// Items taken out by dedup (shown on a higher shelf instead). Every input item is either in
    /// `shelves` or here.
    pub removed: Vec<RemovedItem>,
    /// What computed the scores: `cpu`, `cpu-simd`, `gpu`, or `none` when no model ran.
    pub backend: String,
    /// Why the GPU was not used although the backend setting asked for it (no adapter, device
    /// lost, validation error, timeout): the scores then come from the CPU. `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_fallback: Option<String>,
    /// The ranker's model, `name@sha256:<12 hex digits>`, set also when no model ran (empty only
    /// from [`RerankResult::server_order`]).
    pub model_id: String,
    /// Session events the model read.
    pub events_used: usize,
    /// Wall-clock time of the call, in milliseconds.
    pub elapsed_ms: f64,
    /// Why the server order was kept, when a step failed; `None` on success and when there
    /// were no session events (then the server order is the answer, not a fallback).
    pub fallback: Option<String>,
    /// The experiment and arm the page was ranked under
    /// ([`crate::HomeRanker::set_experiment`]); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Assignment>,
}

/// One shelf of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShelfResult {
    /// The shelf's `id` on the page.
    pub id: String,
    /// Position of the shelf on the server's page, from 0.
    pub server_rank: usize,
    /// Position of the shelf in the result, from 0; equal to `serverRank` for a pinned shelf.
    pub new_rank: usize,
    /// The page's `pinned`: the shelf kept its place.
    pub pinned: bool,
    /// How many of `items` the layout shows (`maxItems`); the rest follow in rank order.
    pub visible: usize,
    /// The shelf's items in their new order, minus those dedup removed.
    pub items: Vec<ItemScore>,
}

/// One item of a result shelf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemScore {
    /// The item's `id` on the page.
    pub id: String,
    /// The model's score; `None` when no model ran.
    pub score: Option<f32>,
    /// Position in the server's shelf.
    pub server_rank: usize,
    /// Position in the result shelf.
    pub new_rank: usize,
}

/// An item dedup removed from a shelf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedItem {
    /// The item's `id`.
    pub id: String,
    /// The shelf it was removed from (`shelfId`).
    pub shelf_id: String,
    /// Its position in that shelf on the server's page, from 0.
    pub server_rank: usize,
    /// Shelf where the item is shown instead.
    pub kept_in: String,
}

impl RerankResult {
    /// The page exactly as the server ordered it.
    pub fn server_order(page: &HomePage) -> Self {
        RerankResult {
            page_id: page.page_id.clone(),
            shelves: page
                .shelves
                .iter()
                .enumerate()
                .map(|(s, shelf)| ShelfResult {
                    id: shelf.id.clone(),
                    server_rank: s,
                    new_rank: s,
                    pinned: shelf.pinned,
                    visible: visible_count(shelf.items.len(), shelf.max_items),
                    items: shelf
                        .items
                        .iter()
                        .enumerate()
                        .map(|(r, item)| ItemScore { id: item.id.clone(), score: None, server_rank: r, new_rank: r })
                        .collect(),
                })
                .collect(),
            removed: Vec::new(),
            backend: "none".into(),
            backend_fallback: None,
            model_id: String::new(),
            events_used: 0,
            elapsed_ms: 0.0,
            fallback: None,
            experiment: None,
        }
    }

    /// What a rerank with nothing to score returns: the server's page, from `model_id`.
    pub(crate) fn unscored(page: &HomePage, model_id: &str, elapsed_ms: f64) -> Self {
        RerankResult { model_id: model_id.to_owned(), elapsed_ms, ..Self::server_order(page) }
    }

    /// The server's page kept because a step failed, `reason` saying which.
    pub(crate) fn fallback(page: &HomePage, model_id: &str, reason: String, elapsed_ms: f64) -> Self {
        RerankResult { fallback: Some(reason), ..Self::unscored(page, model_id, elapsed_ms) }
    }

    /// Item ids per shelf, in result order (handy in tests and logs).
    pub fn order(&self) -> Vec<(String, Vec<String>)> {
        self.shelves.iter().map(|s| (s.id.clone(), s.items.iter().map(|i| i.id.clone()).collect())).collect()
    }

    /// What to log when this page was shown at `time_ms` ([`Exposure::from_result`]): `None`
    /// without an experiment or under a killed one.
    pub fn exposure(&self, time_ms: f64) -> crate::Result<Option<Exposure>> {
        Exposure::from_result(self, time_ms)
    }

    /// The result as JSON, camelCase fields (the shape the npm package returns).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a result always serializes")
    }
}

pub(crate) fn visible_count(len: usize, max_items: Option<usize>) -> usize {
    max_items.map_or(len, |m| m.min(len))
}

/// The f64 a JSON reader (`JSON.parse`) makes of serde_json's text for `x` (NaN for a non-finite `x`,
/// which serde_json writes as `null`), or `None` where that text is not read exactly here.
///
/// The text is the shortest decimal that reads back as `x`: at most 9 significant digits, so
/// its digits `m` are an exact f64, and `m · 10^e` or `m / 10^−e` with |e| ≤ 22 (10^e exact too)
/// is one correctly rounded operation — the same f64 as any correct reader's (Clinger's fast
/// path). A general decimal reader would add its tables (~16 KB gzip) to the module.
// Used by the wasm bindings' packed results (src/wasm/convert.rs).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn json_reads(x: f32) -> Option<f64> {
    if !x.is_finite() {
        return Some(f64::NAN);
    }
    let mut buf = [0u8; 32];
    let mut rest = &mut buf[..];
    serde_json::to_writer(&mut rest, &x).ok()?;
    let len = 32 - rest.len();
    let text = &buf[..len];
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mut digits, mut exponent, mut seen_point, mut i) = (0u64, 0i32, false, 0);
    while i < text.len() {
        match text[i] {
            c @ b'0'..=b'9' => {
                digits = digits.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                exponent -= i32::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if i < text.len() {
        let e: i32 = std::str::from_utf8(&text[i + 1..]).ok()?.trim_start_matches('+').parse().ok()?;
        exponent = exponent.checked_add(e)?;
    }
    if digits >= 1 << 53 || !(-22..=22).contains(&exponent) {
        return None;
    }
    let power = (0..exponent.unsigned_abs()).fold(1f64, |p, _| p * 10.0);
    let value = if exponent >= 0 { digits as f64 * power } else { digits as f64 / power };
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod json_tests {
    use super::json_reads;

    /// What a general decimal reader makes of serde_json's text.
    fn read_back(x: f32) -> f64 {
        serde_json::to_string(&x).unwrap().parse().unwrap()
    }

    #[test]
    fn json_reads_is_the_f64_a_decimal_reader_makes_of_the_text() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let (mut read, mut declined) = (0, 0);
        for i in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every bit pattern half the time; the other half, scores' usual range.
            let x = if i % 2 == 0 {
                f32::from_bits(state as u32)
            } else {
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 64.0
            };
            if !x.is_finite() {
                assert!(json_reads(x).unwrap().is_nan(), "{x}");
                continue;
            }
            match json_reads(x) {
                Some(v) => {
                    assert_eq!(v.to_bits(), read_back(x).to_bits(), "{x}: {}", serde_json::to_string(&x).unwrap());
                    read += 1;
                }
                None => {
                    // Declined only outside the exact fast path: below ~1e-13 or above ~1e22.
                    assert!(x.abs() < 1e-12 || x.abs() > 1e21, "{x} declined");
                    declined += 1;
                }
            }
        }
        assert!(read > 100_000 && declined > 10_000, "{read} read, {declined} declined");
        for x in [0.0f32, -0.0, 1.0, -2.5, 5.360182, 1e-7, 123456790.0, f32::MAX, f32::MIN_POSITIVE] {
            if let Some(v) = json_reads(x) {
                assert_eq!(v.to_bits(), read_back(x).to_bits(), "{x}");
            }
        }
        assert!(json_reads(-0.0).unwrap().is_sign_negative());
    }
}
