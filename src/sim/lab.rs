//! The layout lab: two Home layouts compared on a simulated listener population, paired (every
//! listener sees both, with the same random draws until their choices differ). Each listener
//! gets the server's Home for their taste, laid out as the arm says, browses it with
//! [`BrowseModel`], plays, skips or completes; with on-device reranking on, the arm's page is
//! reranked by the model after every play, as on a device. The demo runs it in a Worker
//! (`www/lab.html`), the CLI as `homerank layout-ab`; the same configuration gives the same
//! numbers in both.

use serde::{Deserialize, Serialize};

use super::browse::{place, BrowseModel, CardSize, Placement, Template, Viewport};
use super::listener::{Listener, Persona};
use super::page::{server_page, ServerRanking};
use super::{dataset_catalog, SimCatalog, SimConfig};
use crate::dataset::Catalog;
use crate::embedding::content_embeddings;
use crate::error::{Error, Result};
use crate::event::{Action, SessionEvent};
use crate::options::RerankOptions;
use crate::page::{HomePage, ItemType};
use crate::ranker::HomeRanker;
use crate::rng::Rng;

/// Embedding width of the simulated pages (the default model's, as in the demo).
const DIM: usize = 32;
/// Plays are kept for the heat map up to this position in a shelf.
pub const HEAT_POSITIONS: usize = 30;

/// One arm: a Home layout as the demo saves it (`homerank-layout.json`; fields the lab does not
/// use, such as `source` or `view`, are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabLayout {
    /// Shown in reports (default `A` / `B`).
    pub name: String,
    /// Shelves on the page (1–12).
    pub shelves: usize,
    /// Cards per shelf (3–30).
    pub cards: usize,
    /// Card size.
    pub size: CardSize,
    /// Shelf template.
    pub template: Template,
    /// Shelf ids in the designer's order; shelves not named keep the server's order after them.
    pub shelf_order: Vec<String>,
    /// Shelf ids held in place.
    pub pinned: Vec<String>,
    /// Rerank options (dedup, shelf reordering, artist diversity).
    pub options: RerankOptions,
    /// On-device reranking; off shows the server's page as laid out.
    pub rerank: bool,
}

impl Default for LabLayout {
    fn default() -> Self {
        LabLayout {
            name: String::new(),
            shelves: 6,
            cards: 12,
            size: CardSize::M,
            template: Template::Carousel,
            shelf_order: Vec::new(),
            pinned: Vec::new(),
            options: RerankOptions::default(),
            rerank: true,
        }
    }
}

impl LabLayout {
    /// Parses a layout (the demo's export file or URL state).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "layout", message: e.to_string() })
    }

    fn check(&self, arm: &str) -> Result<()> {
        if !(1..=12).contains(&self.shelves) || !(3..=30).contains(&self.cards) {
            return Err(Error::InvalidArgument(format!(
                "layout {arm}: shelves must be 1–12 and cards 3–30, got {} and {}",
                self.shelves, self.cards
            )));
        }
        self.options.validate()
    }
}

/// A persona's share of the population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaShare {
    /// The persona.
    pub persona: Persona,
    /// Relative weight (the shares need not sum to 1).
    pub weight: f64,
}

/// Who browses, how long, and under which assumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Population {
    /// Simulated listeners (each sees both layouts).
    pub listeners: usize,
    /// Persona mix (default: the five personas equally).
    pub personas: Vec<PersonaShare>,
    /// Sessions per listener.
    pub sessions: usize,
    /// A session ends after this many plays, or earlier when a scan finds nothing to play.
    pub plays_per_session: usize,
    /// Seeds the listeners and their draws.
    pub seed: u64,
    /// Seeds the catalogue (the demo's is 7).
    pub catalog_seed: u64,
    /// The listener's screen.
    pub viewport: Viewport,
    /// The browsing model.
    pub browse: BrowseModel,
    /// Bootstrap resamples of listeners for the intervals.
    pub bootstrap: usize,
}

impl Default for Population {
    fn default() -> Self {
        Population {
            listeners: 1000,
            personas: Persona::ALL.iter().map(|&persona| PersonaShare { persona, weight: 1.0 }).collect(),
            sessions: 1,
            plays_per_session: 10,
            seed: 1,
            catalog_seed: 7,
            viewport: Viewport::default(),
            browse: BrowseModel::default(),
            bootstrap: 1000,
        }
    }
}

impl Population {
    /// Parses a population (unknown fields are an error, to catch typos).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "population", message: e.to_string() })
    }

    fn check(&self) -> Result<()> {
        let weights_ok = !self.personas.is_empty()
            && self.personas.iter().all(|p| p.weight.is_finite() && p.weight >= 0.0)
            && self.personas.iter().any(|p| p.weight > 0.0);
        let v = self.viewport;
        let sizes_ok = v.width >= 100.0 && v.height >= 100.0 && v.width.is_finite() && v.height.is_finite();
        if !(1..=1_000_000).contains(&self.listeners)
            || !(1..=100).contains(&self.sessions)
            || !(1..=100).contains(&self.plays_per_session)
            || !weights_ok
            || !sizes_ok
            || self.bootstrap > 100_000
        {
            return Err(Error::InvalidArgument(
                "population: listeners 1–1,000,000, sessions and playsPerSession 1–100, persona weights ≥ 0 and not \
                 all 0, a viewport of at least 100 × 100 px, bootstrap ≤ 100,000"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// What one listener did under one arm, summed over their sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Sessions.
    pub sessions: f64,
    /// Sessions with at least one play.
    pub sessions_with_play: f64,
    /// Plays.
    pub plays: f64,
    /// Plays skipped.
    pub skips: f64,
    /// Seconds from opening Home to the session's first play, summed over sessions with one.
    pub seconds_to_first: f64,
    /// Pixels scrolled below the fold to the first play, summed likewise.
    pub scroll_to_first: f64,
    /// Plays by item type (`ItemType::index`).
    pub type_plays: [f64; ItemType::COUNT],
    /// Distinct artists (creators) played, summed over sessions.
    pub distinct_artists: f64,
    /// Position of each play within its shelf (from 0), summed.
    pub positions: f64,
}

/// One listener: their persona and what they did under each arm.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerRecord {
    /// Index into [`Persona::ALL`].
    pub persona: usize,
    /// Arm A, arm B.
    pub arms: [Tally; 2],
}

/// A metric of the report: a ratio of sums over listeners.
struct Metric {
    key: &'static str,
    label: &'static str,
    num: fn(&Tally) -> f64,
    den: fn(&Tally) -> f64,
}

const METRICS: [Metric; 11] = [
    Metric { key: "playsPerSession", label: "plays per session", num: |t| t.plays, den: |t| t.sessions },
    Metric { key: "skipRate", label: "skip rate", num: |t| t.skips, den: |t| t.plays },
    Metric {
        key: "leftWithoutPlay",
        label: "sessions with no play",
        num: |t| t.sessions - t.sessions_with_play,
        den: |t| t.sessions,
    },
    Metric {
        key: "secondsToFirstPlay",
        label: "seconds to the first play",
        num: |t| t.seconds_to_first,
        den: |t| t.sessions_with_play,
    },
    Metric {
        key: "scrollToFirstPlay",
        label: "px scrolled to the first play",
        num: |t| t.scroll_to_first,
        den: |t| t.sessions_with_play,
    },
    Metric {
        key: "shareTracks",
        label: "share of plays: tracks",
        num: |t| t.type_plays[ItemType::Track.index()],
        den: |t| t.plays,
    },
    Metric {
        key: "shareEpisodes",
        label: "share of plays: episodes",
        num: |t| t.type_plays[ItemType::Episode.index()],
        den: |t| t.plays,
    },
    Metric {
        key: "shareAudiobooks",
        label: "share of plays: audiobooks",
        num: |t| t.type_plays[ItemType::Audiobook.index()],
        den: |t| t.plays,
    },
    Metric {
        key: "sharePlaylists",
        label: "share of plays: playlists",
        num: |t| t.type_plays[ItemType::Playlist.index()],
        den: |t| t.plays,
    },
    Metric {
        key: "distinctArtists",
        label: "distinct artists per session",
        num: |t| t.distinct_artists,
        den: |t| t.sessions,
    },
    Metric { key: "positionInShelf", label: "position in shelf of plays", num: |t| t.positions, den: |t| t.plays },
];

/// Plays of one shelf by position, for the heat map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatRow {
    /// The shelf's id.
    pub shelf: String,
    /// Its title.
    pub title: String,
    /// Plays at positions 0 … 29 of the shelf as shown.
    pub plays: Vec<u64>,
}

/// One arm's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmReport {
    /// The layout's name.
    pub name: String,
    /// The layout as run.
    pub layout: LabLayout,
    /// Sessions run.
    pub sessions: u64,
    /// Plays.
    pub plays: u64,
    /// Reranks that kept the server order because a step failed (0 unless something is wrong).
    pub fallbacks: u64,
    /// Plays by shelf (in the layout's shelf order) and position.
    pub heat: Vec<HeatRow>,
}

/// A metric under both arms and B − A with a paired bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricRow {
    /// The metric's key (camelCase).
    pub key: String,
    /// What it measures.
    pub label: String,
    /// Arm A's value.
    pub a: f64,
    /// Arm B's value.
    pub b: f64,
    /// `b − a`.
    pub diff: f64,
    /// 2.5 % point of the bootstrap distribution of `b − a`.
    pub lo: f64,
    /// 97.5 % point.
    pub hi: f64,
}

/// Plays per session for one persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonaRow {
    /// The persona.
    pub persona: Persona,
    /// Listeners of it.
    pub listeners: usize,
    /// Plays per session and skip rate, B − A with its interval.
    pub metrics: Vec<MetricRow>,
}

/// A finished (or partial) comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabReport {
    /// Listeners run so far.
    pub listeners: usize,
    /// The population and browsing assumptions.
    pub population: Population,
    /// The model that reranked, `name@sha256:…`.
    pub model_id: String,
    /// Arm A, arm B.
    pub arms: [ArmReport; 2],
    /// Every metric, paired.
    pub metrics: Vec<MetricRow>,
    /// Per persona.
    pub personas: Vec<PersonaRow>,
}

struct Arm {
    layout: LabLayout,
    heat: Vec<(String, String, Vec<u64>)>,
    sessions: u64,
    plays: u64,
    fallbacks: u64,
}

/// A comparison in progress: [`LayoutLab::run`] simulates listeners in batches (so a page can
/// show progress and cancel between them), [`LayoutLab::report`] summarizes what ran.
pub struct LayoutLab {
    sim: SimCatalog,
    catalog: Catalog,
    embeddings: Vec<f32>,
    population: Population,
    ranker: HomeRanker,
    arms: [Arm; 2],
    records: Vec<ListenerRecord>,
}

impl LayoutLab {
    /// A comparison of layouts `a` and `b` on `population`, reranking with `ranker`'s model.
    pub fn new(a: LabLayout, b: LabLayout, population: Population, ranker: HomeRanker) -> Result<Self> {
        a.check("A")?;
        b.check("B")?;
        population.check()?;
        let config = SimConfig { seed: population.catalog_seed, ..Default::default() };
        let sim = SimCatalog::generate(&config.catalog_spec(), &mut Rng::new(config.seed).fork(1));
        let catalog = dataset_catalog(&sim, config.seed);
        let embeddings = content_embeddings(&catalog, DIM);
        let arm = |mut layout: LabLayout, name: &str| {
            if layout.name.is_empty() {
                layout.name = name.into();
            }
            Arm { layout, heat: Vec::new(), sessions: 0, plays: 0, fallbacks: 0 }
        };
        let arms = [arm(a, "A"), arm(b, "B")];
        Ok(LayoutLab { sim, catalog, embeddings, population, ranker, arms, records: Vec::new() })
    }

    /// Listeners simulated so far.
    pub fn done(&self) -> usize {
        self.records.len()
    }

    /// Listeners in the population.
    pub fn total(&self) -> usize {
        self.population.listeners
    }

    /// Simulates up to `n` more listeners under both arms; returns how many are done.
    pub fn run(&mut self, n: usize) -> usize {
        let end = (self.records.len() + n).min(self.population.listeners);
        while self.records.len() < end {
            let record = self.run_listener(self.records.len());
            self.records.push(record);
        }
        self.records.len()
    }

    /// The per-listener records (for custom analyses).
    pub fn records(&self) -> &[ListenerRecord] {
        &self.records
    }

    fn run_listener(&mut self, index: usize) -> ListenerRecord {
        let mut rng = Rng::new(self.population.seed).fork(10_000 + index as u64);
        let weights: Vec<f64> = self.population.personas.iter().map(|p| p.weight).collect();
        let persona = self.population.personas[rng.weighted(&weights)].persona;
        let listener = Listener::for_persona(&self.sim, persona, &mut rng);
        let ranking = ServerRanking::for_listener(&self.sim, &listener, &mut rng);
        // Common random numbers: both arms start from the same listener and the same stream.
        let draws = rng.fork(1);
        let arms = [0, 1].map(|arm| self.run_arm(arm, index, listener.clone(), &ranking, draws.clone()));
        ListenerRecord { persona: Persona::ALL.iter().position(|&p| p == persona).unwrap_or(0), arms }
    }

    fn run_arm(
        &mut self,
        arm: usize,
        index: usize,
        mut listener: Listener,
        ranking: &ServerRanking,
        mut rng: Rng,
    ) -> Tally {
        let layout = self.arms[arm].layout.clone();
        let page = self.designed_page(&layout, ranking);
        if self.arms[arm].heat.is_empty() {
            self.arms[arm].heat =
                page.shelves.iter().map(|s| (s.id.clone(), s.title.clone(), vec![0; HEAT_POSITIONS])).collect();
        }
        let browse = self.population.browse.clone();
        let viewport = self.population.viewport;
        let mut tally = Tally::default();
        // Simulated wall clock: listeners a day apart, sessions a few hours apart.
        let mut clock = 1_767_225_600_000.0 + index as f64 * 86_400_000.0;
        for s in 0..self.population.sessions {
            if s > 0 {
                listener.start_session(&mut rng);
                clock += 4.0 * 3_600_000.0;
            }
            self.ranker.forget();
            tally.sessions += 1.0;
            let mut shown = Shown::server(&page, &self.catalog);
            let mut played: Vec<u32> = Vec::new();
            let mut artists: Vec<u32> = Vec::new();
            for p in 0..self.population.plays_per_session {
                let lengths: Vec<usize> = shown.shelves.iter().map(|s| s.len()).collect();
                let placements = place(layout.template, layout.size, viewport, &lengths);
                let scan = browse.scan(&placements, viewport, &mut rng, |si, j, pl: &Placement| {
                    let item = shown.shelves[si][j];
                    (!played.contains(&item)).then(|| {
                        let popularity = self.sim.items[item as usize].popularity;
                        browse.play_probability(listener.affinity(&self.sim, item), popularity, pl)
                    })
                });
                clock += 1000.0 * scan.seconds as f64;
                let Some((si, j)) = scan.played else { break };
                let item = shown.shelves[si][j];
                if p == 0 {
                    tally.sessions_with_play += 1.0;
                    tally.seconds_to_first += scan.seconds as f64;
                    tally.scroll_to_first += scan.scroll_px as f64;
                }
                let it = &self.sim.items[item as usize];
                tally.plays += 1.0;
                tally.type_plays[it.item_type.index()] += 1.0;
                tally.positions += j as f64;
                if !artists.contains(&it.creator) {
                    artists.push(it.creator);
                }
                if let Some(row) = self.arms[arm].heat.iter_mut().find(|(id, _, _)| *id == shown.ids[si]) {
                    if let Some(cell) = row.2.get_mut(j) {
                        *cell += 1;
                    }
                }
                played.push(item);
                let listen = listener.listen(&self.sim, item, &mut rng);
                if listen.action == Action::Skip {
                    tally.skips += 1.0;
                }
                let mut events = vec![self.event(item, listen.action, Some(listen.ms_played as f64), clock)];
                if let Some(reaction) = listen.reaction {
                    events.push(self.event(item, reaction, None, clock));
                }
                clock += listen.ms_played as f64 + 2_000.0;
                if layout.rerank {
                    // Events of a page the ranker has seen, with ids from the catalogue: cannot fail.
                    let _ = self.ranker.observe_all(&events);
                    match self.ranker.rerank(&page, &layout.options) {
                        Ok(result) if result.fallback.is_none() => shown = Shown::reranked(&result, &self.catalog),
                        _ => self.arms[arm].fallbacks += 1,
                    }
                }
            }
            tally.distinct_artists += artists.len() as f64;
        }
        self.arms[arm].sessions += self.population.sessions as u64;
        self.arms[arm].plays += tally.plays as u64;
        tally
    }

    /// What the player reports: whole milliseconds, with the item's embedding, type and artist.
    fn event(&self, item: u32, action: Action, ms_played: Option<f64>, time_ms: f64) -> SessionEvent {
        let it = &self.sim.items[item as usize];
        SessionEvent {
            item_id: it.id.clone(),
            action,
            ms_played: ms_played.map(f64::round),
            timestamp_ms: Some(time_ms.round()),
            embedding: Some(self.embeddings[item as usize * DIM..(item as usize + 1) * DIM].to_vec()),
            item_type: Some(it.item_type),
            artist_id: Some(self.sim.creators[it.creator as usize].clone()),
        }
    }

    /// The server's Home for this listener with the arm's shelf count, cards, order and pins.
    fn designed_page(&self, layout: &LabLayout, ranking: &ServerRanking) -> HomePage {
        let emb = |i: u32| self.embeddings[i as usize * DIM..(i as usize + 1) * DIM].to_vec();
        let mut page = server_page(&self.sim, ranking, &emb, DIM, layout.shelves, layout.cards);
        let mut ordered = Vec::with_capacity(page.shelves.len());
        for id in &layout.shelf_order {
            if let Some(k) = page.shelves.iter().position(|s| &s.id == id) {
                ordered.push(page.shelves.remove(k));
            }
        }
        ordered.append(&mut page.shelves);
        for s in &mut ordered {
            s.pinned = layout.pinned.contains(&s.id);
        }
        page.shelves = ordered;
        page
    }

    /// The comparison so far: every metric under both arms, B − A with paired bootstrap 95 %
    /// intervals over listeners, per persona, and the heat maps.
    pub fn report(&self) -> LabReport {
        let resamples = self.resamples(self.records.len(), 0);
        let metrics = METRICS.iter().map(|m| metric_row(m, &self.records, &resamples)).collect();
        let personas = Persona::ALL
            .iter()
            .enumerate()
            .filter_map(|(k, &persona)| {
                let of: Vec<ListenerRecord> = self.records.iter().filter(|r| r.persona == k).cloned().collect();
                if of.is_empty() {
                    return None;
                }
                let resamples = self.resamples(of.len(), 1 + k as u64);
                let metrics = METRICS[..2].iter().map(|m| metric_row(m, &of, &resamples)).collect();
                Some(PersonaRow { persona, listeners: of.len(), metrics })
            })
            .collect();
        let arms = [0, 1].map(|k| {
            let arm = &self.arms[k];
            ArmReport {
                name: arm.layout.name.clone(),
                layout: arm.layout.clone(),
                sessions: arm.sessions,
                plays: arm.plays,
                fallbacks: arm.fallbacks,
                heat: arm
                    .heat
                    .iter()
                    .map(|(id, title, plays)| HeatRow { shelf: id.clone(), title: title.clone(), plays: plays.clone() })
                    .collect(),
            }
        });
        LabReport {
            listeners: self.records.len(),
            population: self.population.clone(),
            model_id: self.ranker.model_id().to_owned(),
            arms,
            metrics,
            personas,
        }
    }

    /// Bootstrap resamples of `n` listeners (indices), seeded by the population's seed and `salt`.
    fn resamples(&self, n: usize, salt: u64) -> Vec<Vec<u32>> {
        let mut rng = Rng::new(self.population.seed).fork(500 + salt);
        if n == 0 {
            return Vec::new();
        }
        (0..self.population.bootstrap).map(|_| (0..n).map(|_| rng.below(n) as u32).collect()).collect()
    }
}

/// What the listener sees: shelves of catalogue indices in display order, and the shelves' ids.
struct Shown {
    ids: Vec<String>,
    shelves: Vec<Vec<u32>>,
}

impl Shown {
    fn server(page: &HomePage, catalog: &Catalog) -> Self {
        Shown {
            ids: page.shelves.iter().map(|s| s.id.clone()).collect(),
            shelves: page.shelves.iter().map(|s| s.items.iter().filter_map(|i| catalog.get(&i.id)).collect()).collect(),
        }
    }

    fn reranked(result: &crate::result::RerankResult, catalog: &Catalog) -> Self {
        Shown {
            ids: result.shelves.iter().map(|s| s.id.clone()).collect(),
            shelves: result
                .shelves
                .iter()
                .map(|s| s.items.iter().take(s.visible).filter_map(|i| catalog.get(&i.id)).collect())
                .collect(),
        }
    }
}

fn ratio(records: &[ListenerRecord], arm: usize, m: &Metric, pick: impl Iterator<Item = usize>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for k in pick {
        num += (m.num)(&records[k].arms[arm]);
        den += (m.den)(&records[k].arms[arm]);
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

fn metric_row(m: &Metric, records: &[ListenerRecord], resamples: &[Vec<u32>]) -> MetricRow {
    let a = ratio(records, 0, m, 0..records.len());
    let b = ratio(records, 1, m, 0..records.len());
    let mut diffs: Vec<f64> = resamples
        .iter()
        .map(|r| {
            ratio(records, 1, m, r.iter().map(|&k| k as usize)) - ratio(records, 0, m, r.iter().map(|&k| k as usize))
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let at = |q: f64| if diffs.is_empty() { b - a } else { diffs[((q * (diffs.len() - 1) as f64).round()) as usize] };
    MetricRow { key: m.key.into(), label: m.label.into(), a, b, diff: b - a, lo: at(0.025), hi: at(0.975) }
}

impl LabReport {
    /// The metric with `key`, if the report has it.
    pub fn metric(&self, key: &str) -> Option<&MetricRow> {
        self.metrics.iter().find(|m| m.key == key)
    }

    /// Metrics and per-persona rows as CSV (`scope,metric,a,b,diff,lo,hi`), for spreadsheets.
    pub fn csv(&self) -> String {
        let mut out = String::from("scope,metric,a,b,diff,lo,hi\n");
        let row = |out: &mut String, scope: &str, m: &MetricRow| {
            out.push_str(&format!("{scope},{},{},{},{},{},{}\n", m.key, m.a, m.b, m.diff, m.lo, m.hi));
        };
        for m in &self.metrics {
            row(&mut out, "all", m);
        }
        for p in &self.personas {
            for m in &p.metrics {
                row(&mut out, p.persona.name(), m);
            }
        }
        out
    }

    /// A markdown summary: the assumptions, the metrics table and the per-persona table.
    pub fn markdown(&self) -> String {
        let [a, b] = &self.arms;
        let pop = &self.population;
        let mut out = format!(
            "# Layout comparison: {} vs {}\n\n{} simulated listeners (seed {}), {} session(s) of up to {} plays, \
             viewport {}×{} px; model `{}`. A simulation under the browsing model's assumptions \
             (`src/sim/browse.rs`): {}.\n\n| metric | {} | {} | B − A | 95 % interval |\n|---|---|---|---|---|\n",
            a.name,
            b.name,
            self.listeners,
            pop.seed,
            pop.sessions,
            pop.plays_per_session,
            pop.viewport.width,
            pop.viewport.height,
            self.model_id,
            serde_json::to_string(&pop.browse).unwrap_or_default(),
            a.name,
            b.name
        );
        let line = |m: &MetricRow| {
            let sig = if m.lo > 0.0 || m.hi < 0.0 { "" } else { " (n.s.)" };
            format!("| {} | {:.4} | {:.4} | {:+.4} | [{:+.4}, {:+.4}]{sig} |\n", m.label, m.a, m.b, m.diff, m.lo, m.hi)
        };
        for m in &self.metrics {
            out.push_str(&line(m));
        }
        out.push_str("\n## Per persona\n\n| persona | listeners | metric | A | B | B − A | 95 % interval |\n|---|---|---|---|---|---|---|\n");
        for p in &self.personas {
            for m in &p.metrics {
                out.push_str(&format!("| {} | {} ", p.persona.name(), p.listeners));
                out.push_str(&line(m));
            }
        }
        out
    }
}
