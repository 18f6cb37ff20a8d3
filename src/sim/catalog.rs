//! The simulated catalogue: tracks, podcast episodes, audiobook chapters and playlists, each
//! with a latent taste vector. Creators (artists, shows, authors) sit around one of a few genre
//! centres, and their items sit around the creator, so "same artist" and "same genre" both mean
//! something. Popularity is Zipf-like and independent of taste.

use crate::embedding::unit;
use crate::page::ItemType;
use crate::rng::Rng;

/// One catalogue item.
#[derive(Debug, Clone)]
pub struct SimItem {
    /// `track:N`, `episode:N`, `audiobook:N` or `playlist:N`, numbered per type from 0.
    pub id: String,
    /// Track, Episode, Audiobook or Playlist.
    pub item_type: ItemType,
    /// Index into [`SimCatalog::creators`].
    pub creator: u32,
    /// Unit latent vector (`latent_dim` values).
    pub latent: Vec<f32>,
    /// Length in milliseconds: 2–6 min for tracks, 20–90 min for episodes, 10–40 min for
    /// audiobook chapters, 2.5–5 min for playlists.
    pub duration_ms: f32,
    /// Relative popularity (Zipf weight, the most popular item is 1).
    pub popularity: f32,
}

/// The catalogue and its creators.
#[derive(Debug, Clone)]
pub struct SimCatalog {
    /// Every item, in the order tracks, episodes, audiobooks, playlists; an item's index here is
    /// its index in [`crate::sim::dataset_catalog`].
    pub items: Vec<SimItem>,
    /// Creator ids (`artist:7`, `show:3`, `author:2`, `curator:1`).
    pub creators: Vec<String>,
    /// Genre centres (unit vectors); listeners' tastes are drawn near them.
    pub genres: Vec<Vec<f32>>,
    /// Width of every latent vector.
    pub latent_dim: usize,
}

/// Catalogue sizes.
#[derive(Debug, Clone)]
pub struct CatalogSpec {
    /// Tracks, by `n_artists` artists.
    pub n_tracks: usize,
    /// Podcast episodes, one show per 12 (at least one show).
    pub n_episodes: usize,
    /// Audiobook chapters, one author per 8 (at least one author).
    pub n_audiobooks: usize,
    /// Playlists, by 8 curators; each follows a genre rather than its curator.
    pub n_playlists: usize,
    /// Track artists (at least 1).
    pub n_artists: usize,
    /// Genre centres creators gather around (at least 1).
    pub n_genres: usize,
    /// Width of the latent vectors.
    pub latent_dim: usize,
}

fn noisy(rng: &mut Rng, centre: &[f32], spread: f64) -> Vec<f32> {
    unit(centre.iter().map(|&c| c + (spread * rng.normal()) as f32).collect())
}

fn random_unit(rng: &mut Rng, dim: usize) -> Vec<f32> {
    unit((0..dim).map(|_| rng.normal() as f32).collect())
}

impl SimCatalog {
    /// Draws a catalogue: items in the order tracks, episodes, audiobooks, playlists (ids
    /// `track:0…`, `episode:0…`, …), each type numbered from 0.
    pub fn generate(spec: &CatalogSpec, rng: &mut Rng) -> Self {
        let k = spec.latent_dim;
        let genres: Vec<Vec<f32>> = (0..spec.n_genres.max(1)).map(|_| random_unit(rng, k)).collect();
        let mut creators = Vec::new();
        let mut creator_centres: Vec<Vec<f32>> = Vec::new();
        let mut new_creator = |rng: &mut Rng, prefix: &str, n: usize| -> u32 {
            let genre = &genres[rng.below(genres.len())];
            creator_centres.push(noisy(rng, genre, 0.35));
            creators.push(format!("{prefix}:{n}"));
            (creators.len() - 1) as u32
        };
        let artists: Vec<u32> = (0..spec.n_artists.max(1)).map(|i| new_creator(rng, "artist", i)).collect();
        let shows: Vec<u32> = (0..(spec.n_episodes / 12).max(1)).map(|i| new_creator(rng, "show", i)).collect();
        let authors: Vec<u32> = (0..(spec.n_audiobooks / 8).max(1)).map(|i| new_creator(rng, "author", i)).collect();
        let curators: Vec<u32> = (0..8).map(|i| new_creator(rng, "curator", i)).collect();

        let mut items = Vec::new();
        // Creators with a Zipf share of the items: a few prolific, many with one or two.
        let pick =
            |rng: &mut Rng, pool: &[u32]| pool[((pool.len() as f64) * rng.uniform().powf(1.6)) as usize % pool.len()];
        let kinds = [
            (ItemType::Track, spec.n_tracks, "track", &artists, (120e3, 360e3), 0.45),
            (ItemType::Episode, spec.n_episodes, "episode", &shows, (20.0 * 60e3, 90.0 * 60e3), 0.3),
            (ItemType::Audiobook, spec.n_audiobooks, "audiobook", &authors, (10.0 * 60e3, 40.0 * 60e3), 0.25),
            (ItemType::Playlist, spec.n_playlists, "playlist", &curators, (150e3, 300e3), 0.6),
        ];
        for (item_type, n, prefix, pool, (lo, hi), spread) in kinds {
            for i in 0..n {
                let creator = pick(rng, pool);
                // Playlists follow a genre more than their curator.
                let centre = if item_type == ItemType::Playlist {
                    genres[rng.below(genres.len())].clone()
                } else {
                    creator_centres[creator as usize].clone()
                };
                items.push(SimItem {
                    id: format!("{prefix}:{i}"),
                    item_type,
                    creator,
                    latent: noisy(rng, &centre, spread),
                    duration_ms: (lo + (hi - lo) * rng.uniform()) as f32,
                    popularity: 0.0,
                });
            }
        }
        let mut ranks: Vec<usize> = (0..items.len()).collect();
        rng.shuffle(&mut ranks);
        for (rank, &i) in ranks.iter().enumerate() {
            items[i].popularity = 1.0 / ((rank + 1) as f32).powf(0.9);
        }
        SimCatalog { items, creators, genres, latent_dim: k }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Dot product (the cosine, for unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
