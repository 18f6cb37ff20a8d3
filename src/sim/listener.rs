//! A simulated listener: long-term taste (one to three genre-like centres), a session intent
//! that starts near the taste and drifts — pulled toward what was enjoyed, pushed from what was
//! skipped, with occasional jumps — and habits per item type. The listener picks from a shown
//! list (position bias, intent, popularity) and either completes or skips what it plays.

use super::catalog::{dot, SimCatalog};
use crate::embedding::unit;
use crate::event::Action;
use crate::page::ItemType;
use crate::rng::Rng;

/// A kind of listener for layout experiments: the base listener's habits per item type, shifted
/// toward what this kind of listener comes to Home for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persona {
    /// Tracks first (+0.35), playlists a little (+0.1), spoken word rarely (−0.3).
    MusicFirst,
    /// Podcast episodes (+0.6), fewer tracks (−0.1) and audiobooks (−0.2).
    PodcastCommuter,
    /// Audiobook chapters (+0.6), fewer tracks (−0.2).
    AudiobookListener,
    /// Playlists (+0.5).
    PlaylistHopper,
    /// No shift: the base listener's habits.
    Explorer,
}

impl Persona {
    /// Every persona, in report order.
    pub const ALL: [Persona; 5] = [
        Persona::MusicFirst,
        Persona::PodcastCommuter,
        Persona::AudiobookListener,
        Persona::PlaylistHopper,
        Persona::Explorer,
    ];

    /// The persona's name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Persona::MusicFirst => "music-first",
            Persona::PodcastCommuter => "podcast-commuter",
            Persona::AudiobookListener => "audiobook-listener",
            Persona::PlaylistHopper => "playlist-hopper",
            Persona::Explorer => "explorer",
        }
    }

    fn type_shift(self) -> &'static [(ItemType, f32)] {
        match self {
            Persona::MusicFirst => &[
                (ItemType::Track, 0.35),
                (ItemType::Playlist, 0.1),
                (ItemType::Episode, -0.3),
                (ItemType::Audiobook, -0.3),
            ],
            Persona::PodcastCommuter => {
                &[(ItemType::Episode, 0.6), (ItemType::Track, -0.1), (ItemType::Audiobook, -0.2)]
            }
            Persona::AudiobookListener => &[(ItemType::Audiobook, 0.6), (ItemType::Track, -0.2)],
            Persona::PlaylistHopper => &[(ItemType::Playlist, 0.5)],
            Persona::Explorer => &[],
        }
    }
}

/// What one listen produced: the play's outcome and an optional reaction right after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listen {
    /// `Skip` or `Complete`.
    pub action: Action,
    /// Milliseconds played: the item's whole duration for a complete, less for a skip.
    pub ms_played: f32,
    /// `Like` after a play that hit the spot, `Dislike` after a quick skip, sometimes.
    pub reaction: Option<Action>,
}

/// One simulated listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Long-term taste: one to three unit centres.
    pub taste: Vec<Vec<f32>>,
    /// What the listener wants in this session (unit); drifts with every listen.
    pub intent: Vec<f32>,
    /// Additive preference per item type (indexed by `ItemType::index`).
    pub type_bias: [f32; ItemType::COUNT],
}

// Calibrated (tests/sim.rs) so that ≈48 % of plays are skipped and ≈24 % end within 5 s.
const COMPLETE_SLOPE: f32 = 7.0;
const COMPLETE_MIDPOINT: f32 = 0.31;
const EARLY_SKIP_SHARE: f64 = 0.5;

impl Listener {
    /// A listener with tastes near the catalogue's genres, in a fresh session.
    pub fn new(catalog: &SimCatalog, rng: &mut Rng) -> Self {
        let n = 1 + rng.below(3);
        let taste: Vec<Vec<f32>> = (0..n)
            .map(|_| {
                let g = &catalog.genres[rng.below(catalog.genres.len())];
                unit(g.iter().map(|&v| v + (0.25 * rng.normal()) as f32).collect())
            })
            .collect();
        let mut type_bias = [0f32; ItemType::COUNT];
        for b in type_bias.iter_mut() {
            *b = (0.15 * rng.normal()) as f32;
        }
        type_bias[ItemType::Track.index()] += 0.1;
        let intent = taste[0].clone();
        let mut listener = Listener { taste, intent, type_bias };
        listener.start_session(rng);
        listener
    }

    /// A listener of `persona`: [`Listener::new`] with the persona's type habits added.
    pub fn for_persona(catalog: &SimCatalog, persona: Persona, rng: &mut Rng) -> Self {
        let mut listener = Listener::new(catalog, rng);
        for &(t, shift) in persona.type_shift() {
            listener.type_bias[t.index()] += shift;
        }
        listener
    }

    /// A new session: intent near one of the long-term tastes.
    pub fn start_session(&mut self, rng: &mut Rng) {
        let c = &self.taste[rng.below(self.taste.len())];
        self.intent = unit(c.iter().map(|&v| v + (0.3 * rng.normal()) as f32).collect());
    }

    /// How much the listener wants `item` right now (roughly −1 … 1).
    pub fn affinity(&self, catalog: &SimCatalog, item: u32) -> f32 {
        let it = &catalog.items[item as usize];
        let long_term = self.taste.iter().map(|t| dot(t, &it.latent)).fold(f32::MIN, f32::max);
        0.75 * dot(&self.intent, &it.latent) + 0.25 * long_term + self.type_bias[it.item_type.index()]
    }

    /// Which of the shown `candidates` gets played (index into the slice), or `None` for an
    /// empty list. Weight ∝ exp(3·affinity + 0.15·ln popularity − 0.12·position).
    pub fn choose(&self, catalog: &SimCatalog, candidates: &[u32], rng: &mut Rng) -> Option<usize> {
        if candidates.is_empty() {
            return None;
        }
        let weights: Vec<f64> = candidates
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                let pop = catalog.items[i as usize].popularity.max(1e-6).ln();
                (3.0 * self.affinity(catalog, i) as f64 + 0.15 * pop as f64 - 0.12 * pos as f64).exp()
            })
            .collect();
        Some(rng.weighted(&weights))
    }

    /// Plays `item`: completes or skips it, maybe reacts, and lets the intent move.
    pub fn listen(&mut self, catalog: &SimCatalog, item: u32, rng: &mut Rng) -> Listen {
        let it = &catalog.items[item as usize];
        let a = self.affinity(catalog, item);
        let p_complete = 1.0 / (1.0 + (-COMPLETE_SLOPE * (a - COMPLETE_MIDPOINT)).exp());
        let listen = if rng.chance(p_complete as f64) {
            let like = a > 0.6 && rng.chance(0.35);
            Listen { action: Action::Complete, ms_played: it.duration_ms, reaction: like.then_some(Action::Like) }
        } else if rng.chance(EARLY_SKIP_SHARE) {
            let ms = (500.0 + 4_400.0 * rng.uniform()) as f32;
            Listen { action: Action::Skip, ms_played: ms, reaction: rng.chance(0.08).then_some(Action::Dislike) }
        } else {
            let ms = 5_000.0 + (0.85 * it.duration_ms - 5_000.0).max(0.0) * rng.uniform() as f32;
            Listen { action: Action::Skip, ms_played: ms, reaction: None }
        };
        self.drift(&it.latent, &listen, rng);
        listen
    }

    fn drift(&mut self, latent: &[f32], listen: &Listen, rng: &mut Rng) {
        let pull: f32 = match (listen.action, listen.reaction) {
            (Action::Complete, Some(Action::Like)) => 0.25,
            (Action::Complete, _) => 0.15,
            (_, Some(Action::Dislike)) => -0.3,
            _ if listen.ms_played < 5_000.0 => -0.25,
            _ => -0.12,
        };
        let noise = 0.06;
        let v: Vec<f32> =
            self.intent.iter().zip(latent).map(|(&i, &l)| i + pull * l + (noise * rng.normal()) as f32).collect();
        self.intent = unit(v);
        if rng.chance(0.03) {
            self.start_session(rng);
        }
    }
}
