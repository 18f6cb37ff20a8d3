//! The simulated server: what it recommends to a listener without looking at the session —
//! long-term taste (known through noise) and popularity — as candidate lists during simulation
//! and as a Home page of shelves for the demo.

use super::catalog::{dot, SimCatalog};
use super::listener::Listener;
use crate::embedding::unit;
use crate::page::{HomePage, Item, ItemType, Shelf};
use crate::rng::Rng;

/// How many of the best items the server keeps per listener.
const TOP: usize = 400;

/// The server's ranking of the catalogue for one listener, best first, with scores.
#[derive(Debug, Clone)]
pub struct ServerRanking {
    /// `(catalogue index, server score)`, best first, the listener's top 400 at most.
    pub items: Vec<(u32, f32)>,
}

impl ServerRanking {
    /// Scores every item: affinity to the listener's long-term taste as the server estimates
    /// it (blurred by noise), plus log popularity. Session intent plays no part.
    pub fn for_listener(catalog: &SimCatalog, listener: &Listener, rng: &mut Rng) -> Self {
        let k = catalog.latent_dim;
        let mut taste = vec![0f32; k];
        for t in &listener.taste {
            taste.iter_mut().zip(t).for_each(|(a, b)| *a += b);
        }
        let taste = unit(taste.iter().map(|&v| v + (0.4 * rng.normal()) as f32).collect());
        let n = catalog.len().max(2) as f32;
        let mut items: Vec<(u32, f32)> = catalog
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (i as u32, 0.7 * dot(&taste, &it.latent) + 0.3 * (1.0 + it.popularity.ln() / n.ln())))
            .collect();
        items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        items.truncate(TOP);
        ServerRanking { items }
    }

    /// `n` items drawn from the top list (favouring higher scores), skipping `exclude`, in
    /// server order.
    pub fn sample(&self, n: usize, exclude: &[u32], rng: &mut Rng) -> Vec<u32> {
        let pool: Vec<&(u32, f32)> = self.items.iter().filter(|(i, _)| !exclude.contains(i)).collect();
        let mut weights: Vec<f64> = pool.iter().map(|(_, s)| (4.0 * *s as f64).exp()).collect();
        let mut picked: Vec<usize> = Vec::with_capacity(n);
        while picked.len() < n.min(pool.len()) {
            let k = rng.weighted(&weights);
            weights[k] = 0.0;
            picked.push(k);
        }
        picked.sort_unstable();
        picked.into_iter().map(|k| pool[k].0).collect()
    }

    /// The best `n` items of one type (or any type), skipping `exclude`.
    pub fn top_of(
        &self,
        catalog: &SimCatalog,
        item_type: Option<ItemType>,
        n: usize,
        exclude: &[u32],
    ) -> Vec<(u32, f32)> {
        self.items
            .iter()
            .filter(|(i, _)| item_type.is_none_or(|t| catalog.items[*i as usize].item_type == t))
            .filter(|(i, _)| !exclude.contains(i))
            .take(n)
            .copied()
            .collect()
    }
}

/// Shelf templates of the simulated Home, in server order.
const SHELVES: [(&str, &str, Option<ItemType>); 6] = [
    ("made-for-you", "Made for you", Some(ItemType::Track)),
    ("podcasts", "Podcasts for you", Some(ItemType::Episode)),
    ("popular", "Popular right now", None),
    ("playlists", "Playlists to try", Some(ItemType::Playlist)),
    ("audiobooks", "Audiobooks for you", Some(ItemType::Audiobook)),
    ("more-tracks", "More tracks you may like", Some(ItemType::Track)),
];

/// A Home page for `ranking`: `n_shelves` shelves (templates repeat with a suffix beyond six)
/// of `per_shelf` items; `embedding(item)` gives each item's server embedding (`dim` values).
/// An item may appear on more than one shelf, as on a real Home.
pub fn server_page(
    catalog: &SimCatalog,
    ranking: &ServerRanking,
    embedding: &dyn Fn(u32) -> Vec<f32>,
    dim: usize,
    n_shelves: usize,
    per_shelf: usize,
) -> HomePage {
    let mut shelves = Vec::with_capacity(n_shelves);
    let mut used: Vec<u32> = Vec::new();
    for s in 0..n_shelves {
        let (id, title, item_type) = SHELVES[s % SHELVES.len()];
        let round = s / SHELVES.len();
        let (id, title) = if round == 0 {
            (id.to_owned(), title.to_owned())
        } else {
            (format!("{id}-{}", round + 1), format!("{title} ({})", round + 1))
        };
        let picks = if id == "popular" {
            // Popularity alone, across types: it overlaps the personal shelves on purpose.
            let mut by_pop: Vec<u32> = (0..catalog.len() as u32).collect();
            by_pop.sort_by(|&a, &b| {
                catalog.items[b as usize].popularity.total_cmp(&catalog.items[a as usize].popularity)
            });
            by_pop.into_iter().take(per_shelf).map(|i| (i, catalog.items[i as usize].popularity)).collect()
        } else {
            ranking.top_of(catalog, item_type, per_shelf, &used)
        };
        used.extend(picks.iter().map(|(i, _)| *i));
        let max = picks.iter().map(|p| p.1).fold(f32::MIN, f32::max);
        let min = picks.iter().map(|p| p.1).fold(f32::MAX, f32::min);
        let items = picks
            .iter()
            .map(|&(i, score)| {
                let it = &catalog.items[i as usize];
                Item {
                    id: it.id.clone(),
                    item_type: it.item_type,
                    server_score: Some(if max > min { 0.05 + 0.95 * (score - min) / (max - min) } else { 1.0 }),
                    embedding: embedding(i),
                    artist_id: Some(catalog.creators[it.creator as usize].clone()),
                    duration_ms: Some(it.duration_ms as f64),
                    neighbors: None,
                }
            })
            .collect();
        shelves.push(Shelf { id, title, pinned: false, min_items: None, max_items: None, items });
    }
    HomePage { page_id: "sim-home".into(), embedding_dim: dim, shelves }
}
