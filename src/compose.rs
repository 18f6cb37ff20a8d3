//! Compose: model scores + layout constraints → the result page.
//!
//! In order:
//! 1. each shelf's items by score, best first (ties keep the server order);
//! 2. the diversity rule, if set: no more than K items of one artist in a row — the next item
//!    that breaks a run moves up; when none is left, the run is allowed;
//! 3. shelf order, if on: unpinned shelves by the mean of their top-k visible scores, best first,
//!    into the slots pinned shelves leave free (pinned and empty shelves keep their place);
//! 4. dedup, if on: walking shelves top to bottom, an item already *shown* (visible) on a higher
//!    shelf is removed — unless that would take the shelf below its `minItems`.
//!
//! Scores must be finite (the ranker checks before calling). Every item of the page ends up in a
//! shelf or in `removed`.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::features::FastHash;
use crate::options::RerankOptions;
use crate::page::{HomePage, Item};
use crate::result::{visible_count, ItemScore, RemovedItem, ShelfResult};

/// Shelves and removed items for `page` given one score per candidate in page order.
pub fn compose(page: &HomePage, scores: &[f32], options: &RerankOptions) -> (Vec<ShelfResult>, Vec<RemovedItem>) {
    debug_assert_eq!(scores.len(), page.item_count());
    let mut offset = 0;
    let mut shelves: Vec<(ShelfResult, Vec<&Item>)> = Vec::with_capacity(page.shelves.len());
    for (s, shelf) in page.shelves.iter().enumerate() {
        let shelf_scores = &scores[offset..offset + shelf.items.len()];
        offset += shelf.items.len();
        let mut order: Vec<usize> = (0..shelf.items.len()).collect();
        order.sort_by(|&a, &b| by_score_then_rank(shelf_scores, a, b));
        if let Some(k) = options.max_artist_run {
            order = limit_artist_runs(&order, &shelf.items, k);
        }
        let items: Vec<ItemScore> = order
            .iter()
            .map(|&r| ItemScore {
                id: shelf.items[r].id.clone(),
                score: Some(shelf_scores[r]),
                server_rank: r,
                new_rank: 0,
            })
            .collect();
        let refs = order.iter().map(|&r| &shelf.items[r]).collect();
        shelves.push((
            ShelfResult { id: shelf.id.clone(), server_rank: s, new_rank: s, pinned: shelf.pinned, visible: 0, items },
            refs,
        ));
    }

    if options.reorder_shelves {
        reorder_shelves(&mut shelves, page, options.shelf_aggregate_top_k);
    }

    let mut removed = Vec::new();
    if options.dedup {
        dedup(&mut shelves, page, &mut removed);
    }

    let out = shelves
        .into_iter()
        .enumerate()
        .map(|(new_rank, (mut shelf, _))| {
            shelf.new_rank = new_rank;
            for (r, item) in shelf.items.iter_mut().enumerate() {
                item.new_rank = r;
            }
            shelf.visible = visible_count(shelf.items.len(), page.shelves[shelf.server_rank].max_items);
            shelf
        })
        .collect();
    (out, removed)
}

fn by_score_then_rank(scores: &[f32], a: usize, b: usize) -> Ordering {
    scores[b].total_cmp(&scores[a]).then(a.cmp(&b))
}

/// Greedy: take the best remaining item that does not extend a run of `k` same-artist items.
fn limit_artist_runs(order: &[usize], items: &[Item], k: usize) -> Vec<usize> {
    let mut left: Vec<usize> = order.to_vec();
    let mut out = Vec::with_capacity(order.len());
    while !left.is_empty() {
        let run_artist = run_of(&out, items, k);
        let pick =
            left.iter().position(|&i| run_artist.is_none() || items[i].artist_id.as_deref() != run_artist).unwrap_or(0);
        out.push(left.remove(pick));
    }
    out
}

/// The artist whose last `k` items close `out`, if the last `k` share one (known) artist.
fn run_of<'a>(out: &[usize], items: &'a [Item], k: usize) -> Option<&'a str> {
    if out.len() < k {
        return None;
    }
    let tail = &out[out.len() - k..];
    let artist = items[tail[0]].artist_id.as_deref()?;
    tail.iter().all(|&i| items[i].artist_id.as_deref() == Some(artist)).then_some(artist)
}

fn reorder_shelves(shelves: &mut Vec<(ShelfResult, Vec<&Item>)>, page: &HomePage, top_k: usize) {
    let aggregate = |shelf: &ShelfResult| -> f32 {
        let max_items = page.shelves[shelf.server_rank].max_items;
        let k = top_k.min(visible_count(shelf.items.len(), max_items)).max(1);
        let top: Vec<f32> = shelf.items.iter().take(k).filter_map(|i| i.score).collect();
        top.iter().sum::<f32>() / top.len() as f32
    };
    let fixed = |shelf: &ShelfResult| shelf.pinned || shelf.items.is_empty();
    let mut movable: Vec<(ShelfResult, Vec<&Item>)> = Vec::new();
    let mut slots: Vec<Option<(ShelfResult, Vec<&Item>)>> = Vec::with_capacity(shelves.len());
    for entry in shelves.drain(..) {
        if fixed(&entry.0) {
            slots.push(Some(entry));
        } else {
            slots.push(None);
            movable.push(entry);
        }
    }
    let mut keyed: Vec<(f32, (ShelfResult, Vec<&Item>))> = movable.into_iter().map(|e| (aggregate(&e.0), e)).collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1 .0.server_rank.cmp(&b.1 .0.server_rank)));
    let mut next = keyed.into_iter().map(|(_, e)| e);
    for slot in slots {
        let entry = slot.or_else(|| next.next()).expect("one movable shelf per free slot");
        shelves.push(entry);
    }
}

fn dedup<'p>(shelves: &mut [(ShelfResult, Vec<&'p Item>)], page: &'p HomePage, removed: &mut Vec<RemovedItem>) {
    // Item id → shelf id where it is shown (both borrowed from the page).
    let mut shown: HashMap<&'p str, &'p str, FastHash> =
        HashMap::with_capacity_and_hasher(page.item_count(), FastHash::default());
    for (shelf, items) in shelves.iter_mut() {
        let spec = &page.shelves[shelf.server_rank];
        let min_items = spec.min_items.unwrap_or(0);
        let mut keep = vec![true; items.len()];
        let mut kept = items.len();
        for (i, item) in items.iter().enumerate() {
            if kept > min_items {
                if let Some(kept_in) = shown.get(item.id.as_str()) {
                    keep[i] = false;
                    kept -= 1;
                    removed.push(RemovedItem {
                        id: item.id.clone(),
                        shelf_id: shelf.id.clone(),
                        server_rank: shelf.items[i].server_rank,
                        kept_in: kept_in.to_string(),
                    });
                }
            }
        }
        let mut it = keep.iter();
        shelf.items.retain(|_| *it.next().expect("one flag per item"));
        let mut it = keep.iter();
        items.retain(|_| *it.next().expect("one flag per item"));
        for item in items.iter().take(visible_count(items.len(), spec.max_items)) {
            shown.entry(item.id.as_str()).or_insert(spec.id.as_str());
        }
    }
}
