//! Compose rules on hand-set scores (no model): the expected orders are worked out by hand.

mod common;

use homerank::testing::compose;
use homerank::{HomePage, Item, ItemType, RerankOptions, Shelf};

fn item(id: &str, artist: &str) -> Item {
    Item {
        id: id.into(),
        item_type: ItemType::Track,
        server_score: None,
        embedding: vec![0.0; 2],
        artist_id: Some(artist.into()),
        duration_ms: None,
        neighbors: None,
    }
}

fn shelf(id: &str, items: Vec<Item>) -> Shelf {
    Shelf { id: id.into(), title: String::new(), pinned: false, min_items: None, max_items: None, items }
}

fn ids(shelf: &homerank::ShelfResult) -> Vec<&str> {
    shelf.items.iter().map(|i| i.id.as_str()).collect()
}

fn page(shelves: Vec<Shelf>) -> HomePage {
    HomePage { page_id: "p".into(), embedding_dim: 2, shelves }
}

#[test]
fn items_sort_by_score_with_ties_in_server_order() {
    let p = page(vec![shelf("a", vec![item("x", "1"), item("y", "2"), item("z", "3"), item("w", "4")])]);
    let (shelves, removed) = compose(&p, &[0.1, 0.5, 0.1, 0.9], &RerankOptions::default());
    assert_eq!(ids(&shelves[0]), ["w", "y", "x", "z"]);
    let ranks: Vec<(usize, usize)> = shelves[0].items.iter().map(|i| (i.server_rank, i.new_rank)).collect();
    assert_eq!(ranks, [(3, 0), (1, 1), (0, 2), (2, 3)]);
    assert!(removed.is_empty());
}

#[test]
fn diversity_limits_runs_of_one_artist() {
    let p = page(vec![shelf(
        "a",
        vec![item("a1", "A"), item("a2", "A"), item("a3", "A"), item("b1", "B"), item("a4", "A"), item("c1", "C")],
    )]);
    let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    let opts = RerankOptions { max_artist_run: Some(2), ..Default::default() };
    let (shelves, _) = compose(&p, &scores, &opts);
    // a1 a2 (run of 2) → b1 jumps up → a3 a4 → c1.
    assert_eq!(ids(&shelves[0]), ["a1", "a2", "b1", "a3", "a4", "c1"]);
    let opts = RerankOptions { max_artist_run: Some(1), ..Default::default() };
    let (shelves, _) = compose(&p, &scores, &opts);
    // Alternate while another artist is left, then the rest of A.
    assert_eq!(ids(&shelves[0]), ["a1", "b1", "a2", "c1", "a3", "a4"]);
}

#[test]
fn shelves_reorder_by_top_k_mean_around_pinned_ones() {
    let mut s0 = shelf("pinned-top", vec![item("p1", "1"), item("p2", "1")]);
    s0.pinned = true;
    let s1 = shelf("low", vec![item("l1", "1"), item("l2", "1")]);
    let s2 = shelf("high", vec![item("h1", "1"), item("h2", "1")]);
    let mut s3 = shelf("pinned-3", vec![item("q1", "1")]);
    s3.pinned = true;
    let s4 = shelf("mid", vec![item("m1", "1"), item("m2", "1")]);
    let p = page(vec![s0, s1, s2, s3, s4]);
    let scores = [0.0, 0.0, 0.1, 0.2, 0.9, 0.8, 5.0, 0.5, 0.4];
    let (shelves, _) = compose(&p, &scores, &RerankOptions::default());
    let order: Vec<&str> = shelves.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(order, ["pinned-top", "high", "mid", "pinned-3", "low"]);
    assert_eq!(shelves.iter().map(|s| s.new_rank).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(shelves[1].server_rank, 2);

    let keep = RerankOptions { reorder_shelves: false, ..Default::default() };
    let (shelves, _) = compose(&p, &scores, &keep);
    let order: Vec<&str> = shelves.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(order, ["pinned-top", "low", "high", "pinned-3", "mid"]);
}

#[test]
fn shelf_aggregate_uses_only_visible_items() {
    // "a" has one great item hidden beyond maxItems 1; its visible item is worse than "b"'s.
    let mut a = shelf("a", vec![item("a1", "1"), item("a2", "1")]);
    a.max_items = Some(1);
    let b = shelf("b", vec![item("b1", "1"), item("b2", "1")]);
    let p = page(vec![a, b]);
    let (shelves, _) =
        compose(&p, &[0.5, 0.4, 0.45, 0.0], &RerankOptions { shelf_aggregate_top_k: 2, ..Default::default() });
    // a: top-1 visible mean 0.5; b: top-2 mean 0.225 → a first; visible counts follow maxItems.
    assert_eq!(shelves.iter().map(|s| (s.id.as_str(), s.visible)).collect::<Vec<_>>(), [("a", 1), ("b", 2)]);
}

#[test]
fn dedup_keeps_the_highest_visible_placement_and_respects_min_items() {
    let s0 = shelf("top", vec![item("x", "1"), item("y", "1"), item("hidden", "1")]);
    let mut s0 = s0;
    s0.max_items = Some(2);
    let s1 = shelf("second", vec![item("x", "1"), item("hidden", "1"), item("z", "1")]);
    let mut s2 = shelf("third", vec![item("y", "1"), item("x", "1")]);
    s2.min_items = Some(1);
    let p = page(vec![s0, s1, s2]);
    let scores = [0.9, 0.8, 0.7, 0.9, 0.8, 0.7, 0.9, 0.8];
    let opts = RerankOptions { reorder_shelves: false, ..Default::default() };
    let (shelves, removed) = compose(&p, &scores, &opts);
    assert_eq!(ids(&shelves[0]), ["x", "y", "hidden"]);
    // "hidden" is not shown on "top" (beyond maxItems 2), so "second" keeps it.
    assert_eq!(ids(&shelves[1]), ["hidden", "z"]);
    // "third" would drop to 0 items; minItems 1 keeps its last one.
    assert_eq!(ids(&shelves[2]), ["x"]);
    let gone: Vec<(&str, &str, &str)> =
        removed.iter().map(|r| (r.id.as_str(), r.shelf_id.as_str(), r.kept_in.as_str())).collect();
    assert_eq!(gone, [("x", "second", "top"), ("y", "third", "top")]);
    assert_eq!(removed[0].server_rank, 0);

    let off = RerankOptions { dedup: false, reorder_shelves: false, ..Default::default() };
    let (shelves, removed) = compose(&p, &scores, &off);
    assert!(removed.is_empty());
    assert_eq!(shelves.iter().map(|s| s.items.len()).sum::<usize>(), 8);
}
