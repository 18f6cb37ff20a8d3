//! The listener simulator: a catalogue with latent tastes, listeners whose session intent
//! drifts, and a server that shows lists from popularity and long-term taste but never from the
//! session. It makes unlimited training data and drives the demo. Seeded and deterministic;
//! builds for wasm32 (no I/O, no clock).
//!
//! Calibration: about 48 % of plays end before the item ends and about 24 % within 5 s
//! (asserted in tests/sim.rs on the default configuration).
//!
//! Shape: [`SimCatalog`] (items with latent vectors) → [`Listener`] (taste, drifting intent) →
//! [`ServerRanking`] (what the server shows, session-blind) → [`simulate`] (a [`Dataset`] of
//! sessions) or [`server_page`] (a [`crate::HomePage`]; item embeddings come from the caller,
//! e.g. [`crate::embedding::content_embeddings`] over [`dataset_catalog`]).
//!
//! The layout lab builds on it: [`BrowseModel`] (how a listener scans a laid-out Home: examination
//! falls with scroll depth and carousel swipes, the first card played ends the scan) and
//! [`LayoutLab`] (two layouts on a [`Population`] of [`Persona`]s, paired, with bootstrap
//! intervals in a [`LabReport`]).
//!
//! ```
//! use homerank::sim::{simulate, SimConfig};
//! let log = simulate(&SimConfig { n_users: 5, ..Default::default() });
//! assert_eq!(log.sessions.len(), 15);
//! ```

mod browse;
mod catalog;
mod lab;
mod listener;
mod page;

pub use browse::{place, BrowseModel, CardSize, Placement, Scan, Template, Viewport};
pub use catalog::{CatalogSpec, SimCatalog, SimItem};
pub use lab::{
    ArmReport, HeatRow, LabLayout, LabReport, LayoutLab, ListenerRecord, MetricRow, PersonaRow, PersonaShare,
    Population, Tally, HEAT_POSITIONS,
};
pub use listener::{Listen, Listener, Persona};
pub use page::{server_page, ServerRanking};

use crate::dataset::{Catalog, Dataset, Interaction, Session};
use crate::rng::Rng;

/// Size and shape of a simulated log.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Tracks in the catalogue (default 3,000).
    pub n_tracks: usize,
    /// Podcast episodes (default 600), about 12 per show.
    pub n_episodes: usize,
    /// Audiobook chapters (default 200), about 8 per author.
    pub n_audiobooks: usize,
    /// Playlists (default 200), spread over 8 curators.
    pub n_playlists: usize,
    /// Artists the tracks are spread over (default 300).
    pub n_artists: usize,
    /// Genre centres that creators and listener tastes gather around.
    pub n_genres: usize,
    /// Width of the latent taste vectors (and of the catalogue's content features).
    pub latent_dim: usize,
    /// Simulated listeners (default 400), users `user:0…`.
    pub n_users: usize,
    /// Sessions per listener (default 3); the log has `n_users × sessions_per_user` sessions.
    pub sessions_per_user: usize,
    /// Mean plays per session (lengths are 5 + exponential, so every session has at least 5).
    pub mean_session_len: usize,
    /// Candidates the server shows at each step.
    pub shown: usize,
    /// Seeds the whole simulation: the same configuration gives the same log on every target.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            n_tracks: 3000,
            n_episodes: 600,
            n_audiobooks: 200,
            n_playlists: 200,
            n_artists: 300,
            n_genres: 12,
            latent_dim: 16,
            n_users: 400,
            sessions_per_user: 3,
            mean_session_len: 20,
            shown: 20,
            seed: 1,
        }
    }
}

impl SimConfig {
    /// The catalogue part of the configuration.
    pub fn catalog_spec(&self) -> CatalogSpec {
        CatalogSpec {
            n_tracks: self.n_tracks,
            n_episodes: self.n_episodes,
            n_audiobooks: self.n_audiobooks,
            n_playlists: self.n_playlists,
            n_artists: self.n_artists,
            n_genres: self.n_genres,
            latent_dim: self.latent_dim,
        }
    }
}

/// How noisy the server's knowledge of an item is: content = latent + this much noise.
pub const CONTENT_NOISE: f64 = 0.3;

/// The catalogue as a dataset catalogue: types, creators, durations, and content = the latent
/// vector seen through noise (what a server knows, imperfectly).
pub fn dataset_catalog(sim: &SimCatalog, seed: u64) -> Catalog {
    let mut rng = Rng::new(seed).fork(77);
    let mut catalog = Catalog::new(sim.latent_dim);
    for it in &sim.items {
        let i = catalog.intern(&it.id);
        catalog.types[i as usize] = it.item_type;
        catalog.set_artist(i, &sim.creators[it.creator as usize]);
        catalog.durations_ms[i as usize] = Some(it.duration_ms);
        for (c, &l) in catalog.content_mut(i).iter_mut().zip(&it.latent) {
            *c = l + (CONTENT_NOISE * rng.normal()) as f32;
        }
    }
    catalog
}

/// Simulates listening sessions: `n_users × sessions_per_user` sessions (ids `sim-u{u}-s{s}`,
/// users `user:{u}`), each play logged as `skip` or `complete` with `ms_played`, sometimes
/// followed by a `like` / `dislike` at the same time.
pub fn simulate(config: &SimConfig) -> Dataset {
    let root = Rng::new(config.seed);
    let sim = SimCatalog::generate(&config.catalog_spec(), &mut root.fork(1));
    simulate_on(&sim, config)
}

/// Simulates listening sessions on a given catalogue (its size fields in `config` are ignored).
pub fn simulate_on(sim: &SimCatalog, config: &SimConfig) -> Dataset {
    let root = Rng::new(config.seed);
    let catalog = dataset_catalog(sim, config.seed);
    let mut sessions = Vec::new();
    let mut clock_ms = 1_735_689_600_000.0; // 2025-01-01
    for u in 0..config.n_users {
        let mut rng = root.fork(1_000 + u as u64);
        let mut listener = Listener::new(sim, &mut rng);
        let ranking = ServerRanking::for_listener(sim, &listener, &mut rng);
        let mut recent: Vec<u32> = Vec::new();
        for s in 0..config.sessions_per_user {
            listener.start_session(&mut rng);
            let mut t = clock_ms + (u as f64 * 3.7 + s as f64 * 26.0) * 3.6e6 + rng.uniform() * 3.6e6;
            let extra = config.mean_session_len.saturating_sub(5) as f64;
            let len = 5 + (-(extra.max(1.0)) * rng.uniform().max(1e-9).ln()) as usize;
            let mut events = Vec::with_capacity(len + 4);
            for _ in 0..len {
                let shown = ranking.sample(config.shown, &recent, &mut rng);
                let Some(k) = listener.choose(sim, &shown, &mut rng) else { break };
                let item = shown[k];
                let listen = listener.listen(sim, item, &mut rng);
                // Whole milliseconds, as in real logs (and exact through JSON).
                let time_ms = t.round();
                events.push(Interaction { item, action: listen.action, ms_played: Some(listen.ms_played), time_ms });
                if let Some(reaction) = listen.reaction {
                    events.push(Interaction { item, action: reaction, ms_played: None, time_ms });
                }
                recent.push(item);
                if recent.len() > 30 {
                    recent.remove(0);
                }
                t += listen.ms_played as f64 + 2_000.0 + 8_000.0 * rng.uniform();
            }
            sessions.push(Session { id: format!("sim-u{u}-s{s}"), user: Some(format!("user:{u}")), events });
        }
        clock_ms += 1_000.0;
    }
    // Plays are logged by their outcome (skip / complete); the demo computes these embeddings
    // in the browser from content alone, so training does the same.
    Dataset { name: "simulator".into(), catalog, sessions, content_only: true }
}
