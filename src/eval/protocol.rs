//! The offline protocol (docs/ARCHITECTURE.md, "Evaluation"): time-ordered windows (`split`),
//! statistics fitted on the history before each case window (`history`), ranking cases, every
//! method on the same lists, and bootstrap intervals, overall and per session-length bucket —
//! on the window lists and again on the server's own top N.

use web_time::Instant;

use super::baselines::popularity_scores;
use super::cases::{build_cases, case_features, case_page, CandidateList, CaseConfig, RankingCase};
use super::embed::EmbeddingKind;
use super::history::History;
use super::linear::{linear_inputs, LinearModel};
use super::metrics::{bootstrap_mean, hit_at, ndcg_at, order_by, rank_of, reciprocal_rank, skip_at_3, Estimate};
use super::split::Split;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::features::Features;
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::{HrsModel, ModelFile, Precision};

/// Session-length buckets (events before the target).
pub const BUCKETS: [(usize, usize, &str); 5] =
    [(1, 1, "1"), (2, 4, "2-4"), (5, 9, "5-9"), (10, 19, "10-19"), (20, usize::MAX, "20+")];

/// Where a method's inputs come from: what the device has (the page and the session), or the
/// server's statistics, which a device does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Only the page and the session: the method could run on the device (◆ in reports).
    Device,
    /// Also the server's statistics (co-occurrence counts, the session index, popularity).
    Server,
}

/// Every method of the table, in order, with where its inputs come from.
pub const METHODS: [(&str, Inputs); 9] = [
    ("server order", Inputs::Server),
    ("popularity", Inputs::Server),
    ("embedding-kNN", Inputs::Device),
    ("neighbour-kNN", Inputs::Device),
    ("linear, on-device features", Inputs::Device),
    ("SKNN", Inputs::Server),
    ("item-kNN", Inputs::Server),
    ("HR-S f32", Inputs::Device),
    ("HR-S Q8_0", Inputs::Device),
];

/// Settings of one evaluation run.
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// How test cases are drawn; its `max_events` is replaced by the model's.
    pub cases: CaseConfig,
    /// Cases for the full-catalogue ranking (0: skip it).
    pub full_catalogue_cases: usize,
    /// Training cases the linear baseline is fitted on.
    pub linear_train_cases: usize,
    /// Bootstrap resamples per interval (default 1,000).
    pub bootstrap: usize,
    /// Seeds the bootstrap resampling.
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            cases: CaseConfig::default(),
            full_catalogue_cases: 0,
            linear_train_cases: 4_000,
            bootstrap: 1000,
            seed: 11,
        }
    }
}

/// Per-case metrics of one method.
#[derive(Debug, Clone, Default)]
pub struct CaseMetrics {
    /// NDCG@10 of the target per case, in [0, 1].
    pub ndcg10: Vec<f64>,
    /// Reciprocal rank of the target per case, in (0, 1].
    pub mrr: Vec<f64>,
    /// 1 when the target is in the top 10, else 0, per case.
    pub hr10: Vec<f64>,
    /// Share of the top 3 taken by skipped items per case; `None` for a case without any.
    pub skip3: Vec<Option<f64>>,
}

impl CaseMetrics {
    fn push(&mut self, order: &[usize], case: &RankingCase) {
        let rank = rank_of(order, case.target);
        self.ndcg10.push(ndcg_at(rank, 10));
        self.mrr.push(reciprocal_rank(rank));
        self.hr10.push(hit_at(rank, 10));
        self.skip3.push(skip_at_3(order, &case.skipped));
    }
}

/// One row of a results table.
#[derive(Debug, Clone)]
pub struct MethodRow {
    /// The method, as in [`METHODS`] (e.g. `"HR-S Q8_0"`).
    pub name: String,
    /// Whether a device could run it.
    pub inputs: Inputs,
    /// NDCG@10 over the cases, with its 95 % interval.
    pub ndcg10: Estimate,
    /// MRR over the cases, with its 95 % interval.
    pub mrr: Estimate,
    /// HR@10 over the cases, with its 95 % interval.
    pub hr10: Estimate,
    /// skip@3 over the cases that have skipped candidates (lower is better); `None` when no
    /// case has any.
    pub skip3: Option<Estimate>,
    /// NDCG@10 per session-length bucket (label, estimate).
    pub buckets: Vec<(String, Estimate)>,
}

/// One table: its cases, rows and HR-S Q8_0's paired differences.
#[derive(Debug, Clone)]
pub struct Table {
    /// Test cases every row is measured on.
    pub n_cases: usize,
    /// One row per method, in [`METHODS`] order.
    pub rows: Vec<MethodRow>,
    /// HR-S Q8_0 minus each baseline, NDCG@10, paired bootstrap.
    pub deltas: Vec<(String, Estimate)>,
}

impl Table {
    /// Mean NDCG@10 of the row named `name`; NaN when there is no such row.
    pub fn ndcg(&self, name: &str) -> f64 {
        self.rows.iter().find(|r| r.name == name).map_or(f64::NAN, |r| r.ndcg10.mean)
    }
}

/// Everything one evaluation produced.
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// The dataset's name ([`Dataset::name`]).
    pub dataset: String,
    /// The evaluated model file's id, `name@sha256:<12 hex digits>`.
    pub model_id: String,
    /// Items in the dataset's catalogue.
    pub n_items: usize,
    /// Sessions per window: history A, training cases, validation, test.
    pub n_sessions: [usize; 4],
    /// Candidates per list (`None`: the whole catalogue).
    pub n_cands: Option<usize>,
    /// The window protocol (the target among items the server ranks alike).
    pub window: Table,
    /// The server's own top N, where it already ranked the target.
    pub server_top: Table,
    /// |NDCG@10(Q8_0) − NDCG@10(f32)| / NDCG@10(f32), window protocol.
    pub q8_relative_gap: f64,
    /// The full-catalogue ranking, `(cases, rows)`; `None` when `full_catalogue_cases` is 0.
    pub full_catalogue: Option<(usize, Vec<MethodRow>)>,
    /// Mean JSON bytes of a case's page (`case_page`) without and with the neighbour lists.
    pub page_bytes: (f64, f64),
    /// Wall-clock time of the whole evaluation, in seconds.
    pub seconds: f64,
}

/// Which cases: from which window, scored with which history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The training window (60–80 %), scored with history A.
    Train,
    /// The validation window (80–90 %), scored with history B.
    Valid,
    /// The test window (90–100 %), scored with history B.
    Test,
}

/// A dataset made ready for ranking: the windows and the statistics of both histories.
pub struct Prepared {
    /// The dataset, as given.
    pub dataset: Dataset,
    /// Its sessions cut into the time-ordered windows.
    pub split: Split,
    /// Fitted on `split.history_train`: scores the training cases.
    pub history_train: History,
    /// Fitted on `split.history_eval`: scores the validation and test cases (its embeddings
    /// aligned to `history_train`'s basis).
    pub history_eval: History,
}

impl Prepared {
    /// Learned embeddings of width `dim`.
    pub fn new(dataset: Dataset, dim: usize) -> Self {
        Self::with_embeddings(dataset, dim, EmbeddingKind::Learned)
    }

    /// Like [`Prepared::new`], with the item embeddings of `kind` (learned, or from content only).
    pub fn with_embeddings(dataset: Dataset, dim: usize, kind: EmbeddingKind) -> Self {
        let split = Split::default_for(&dataset);
        let history_train = History::fit(&dataset, &split.history_train, dim, kind, None);
        let history_eval = History::fit(&dataset, &split.history_eval, dim, kind, Some(&history_train.embeddings));
        Prepared { dataset, split, history_train, history_eval }
    }

    /// A prepared dataset from its parts (`prep::PreparedTables::prepared` builds them from a
    /// prepared directory).
    pub fn from_parts(dataset: Dataset, split: Split, history_train: History, history_eval: History) -> Self {
        Prepared { dataset, split, history_train, history_eval }
    }

    /// Keeps only each item's `k` closest neighbours (the page's `neighbors` lists), for
    /// measuring what shorter lists cost.
    pub fn truncate_neighbors(&mut self, k: usize) {
        for h in [&mut self.history_train, &mut self.history_eval] {
            h.neighbors.iter_mut().for_each(|l| l.truncate(k));
        }
    }

    /// The sessions of `part`'s window, as indices into `dataset.sessions`.
    pub fn sessions(&self, part: Part) -> &[usize] {
        self.split.window(part)
    }

    /// The statistics `part`'s cases are scored with: history A for training, B otherwise.
    pub fn history(&self, part: Part) -> &History {
        match part {
            Part::Train => &self.history_train,
            Part::Valid | Part::Test => &self.history_eval,
        }
    }

    /// The ranking cases of `part`'s window, drawn as `config` says.
    pub fn cases(&self, part: Part, config: &CaseConfig) -> Vec<RankingCase> {
        build_cases(&self.dataset, self.sessions(part), self.history(part), config)
    }

    /// The model's inputs for `case`, built with `part`'s history as the ranker would build them
    /// from the case's page.
    pub fn features(&self, part: Part, case: &RankingCase) -> Features {
        case_features(case, &self.dataset, self.history(part))
    }
}

/// The two HR-S rows: the f32 weights through candle (the reference), and the shipped model
/// through the CPU engine the ranker runs.
struct Scorers {
    f32_model: HrsModel,
    engine: CpuModel,
    linear: LinearModel,
}

/// Runs the protocol for a model file on a prepared dataset. `f32_twin` is the same model with
/// f32 weights (the trainer writes one beside the Q8_0 file); without it the f32 row uses the
/// file's weights dequantized.
pub fn evaluate(
    prepared: &Prepared,
    model_file: &ModelFile,
    f32_twin: Option<&ModelFile>,
    config: &EvalConfig,
) -> Result<EvalReport> {
    let start = Instant::now();
    let reference = f32_twin.unwrap_or(model_file);
    let draws = EvalDraws::new(config, model_file.config.max_events);
    let scorers = Scorers {
        f32_model: HrsModel::from_file_tensors(reference.config.clone(), &reference.tensors, Precision::F32)?,
        engine: CpuModel::new(&model_file.config, &model_file.tensors)?,
        linear: fit_linear_on(prepared, &draws.linear),
    };
    let table = |draw: &CaseConfig| -> Result<Table> {
        let cases = prepared.cases(Part::Test, draw);
        let methods = run_methods(prepared, &cases, &scorers)?;
        Ok(summarize_table(&methods, &cases, config))
    };
    let window = table(&draws.window)?;
    let page_bytes = page_bytes(prepared, &prepared.cases(Part::Test, &draws.page_sample));
    let server_top = table(&draws.server_top)?;
    let q8_relative_gap = (window.ndcg("HR-S Q8_0") - window.ndcg("HR-S f32")).abs() / window.ndcg("HR-S f32");

    let full_catalogue = match &draws.full_catalogue {
        Some(draw) => {
            let full_cases = prepared.cases(Part::Test, draw);
            let methods = run_methods(prepared, &full_cases, &scorers)?;
            Some((full_cases.len(), methods.iter().map(|m| summarize(m, &full_cases, config)).collect()))
        }
        None => None,
    };
    let s = &prepared.split;
    Ok(EvalReport {
        dataset: prepared.dataset.name.clone(),
        model_id: model_file.model_id.clone(),
        n_items: prepared.dataset.catalog.len(),
        n_sessions: [s.history_train.len(), s.train.len(), s.valid.len(), s.test.len()],
        n_cands: config.cases.n_cands,
        window,
        server_top,
        q8_relative_gap,
        full_catalogue,
        page_bytes,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Mean JSON size of the cases' pages, without and with neighbour lists.
fn page_bytes(prepared: &Prepared, cases: &[RankingCase]) -> (f64, f64) {
    let history = prepared.history(Part::Test);
    let mean = |neighbors: bool| {
        let total: usize = cases
            .iter()
            .map(|c| {
                serde_json::to_string(&case_page(c, &prepared.dataset, history, neighbors).0).map_or(0, |j| j.len())
            })
            .sum();
        total as f64 / cases.len().max(1) as f64
    };
    (mean(false), mean(true))
}

/// The linear baseline, fitted on training-window cases scored with history A.
pub fn fit_linear(prepared: &Prepared, case_config: &CaseConfig, max_cases: usize) -> LinearModel {
    fit_linear_on(prepared, &linear_draw(case_config, max_cases))
}

/// The linear baseline's training cases: `max_cases` drawn like `case_config`'s, with their
/// own seed.
fn linear_draw(case_config: &CaseConfig, max_cases: usize) -> CaseConfig {
    CaseConfig { max_cases, seed: case_config.seed ^ 0x11, ..case_config.clone() }
}

fn fit_linear_on(prepared: &Prepared, draw: &CaseConfig) -> LinearModel {
    let lists: Vec<(Vec<f64>, usize)> = prepared
        .cases(Part::Train, draw)
        .iter()
        .map(|c| (linear_inputs(&prepared.features(Part::Train, c)), c.target))
        .collect();
    LinearModel::fit(&lists)
}

/// The case draws [`evaluate`] makes: on the test window, the window lists, the server's top N,
/// the sample whose pages are sized and (when asked) the full catalogue; on the training window,
/// the linear baseline's cases. A reader that holds only the sessions these draws read
/// (`sessions_read`) gives `evaluate` what the whole log gives it.
#[derive(Debug, Clone)]
pub struct EvalDraws {
    /// The window protocol's lists.
    pub window: CaseConfig,
    /// The server's own top N.
    pub server_top: CaseConfig,
    /// The cases whose pages' JSON size is reported.
    pub page_sample: CaseConfig,
    /// The whole catalogue as the list, when `full_catalogue_cases` > 0.
    pub full_catalogue: Option<CaseConfig>,
    /// The linear baseline's training cases (training window).
    pub linear: CaseConfig,
}

impl EvalDraws {
    /// The draws of `config` for a model that reads `max_events` events of a prefix.
    pub fn new(config: &EvalConfig, max_events: usize) -> Self {
        let base = CaseConfig { max_events, ..config.cases.clone() };
        EvalDraws {
            window: CaseConfig { list: CandidateList::Window, ..base.clone() },
            server_top: CaseConfig { list: CandidateList::ServerTop, ..base.clone() },
            page_sample: CaseConfig { max_cases: 200, ..base.clone() },
            full_catalogue: (config.full_catalogue_cases > 0).then(|| CaseConfig {
                n_cands: None,
                max_cases: config.full_catalogue_cases,
                ..base.clone()
            }),
            linear: linear_draw(&base, config.linear_train_cases),
        }
    }

    /// Every draw with the window it draws from.
    pub fn all(&self) -> Vec<(Part, &CaseConfig)> {
        let test = [Some(&self.window), Some(&self.server_top), Some(&self.page_sample), self.full_catalogue.as_ref()];
        let mut all: Vec<(Part, &CaseConfig)> = test.into_iter().flatten().map(|c| (Part::Test, c)).collect();
        all.push((Part::Train, &self.linear));
        all
    }
}

struct Method {
    name: &'static str,
    inputs: Inputs,
    metrics: CaseMetrics,
}

/// Per-case metrics of every method, in [`METHODS`] order.
fn run_methods(prepared: &Prepared, cases: &[RankingCase], scorers: &Scorers) -> Result<Vec<Method>> {
    let history = prepared.history(Part::Test);
    let features: Vec<Features> = cases.iter().map(|c| prepared.features(Part::Test, c)).collect();
    // Big lists (full catalogue) go one at a time; small ones in batches.
    let batch = if cases.iter().any(|c| c.candidates.len() > 200) { 1 } else { 64 };
    let f32_scores = scorers.f32_model.score_many(&features, batch)?;
    let mut scratch = Scratch::default();
    let q8_scores = features.iter().map(|f| scorers.engine.score(f, &mut scratch)).collect::<Result<Vec<_>>>()?;
    let mut methods: Vec<Method> =
        METHODS.iter().map(|&(name, inputs)| Method { name, inputs, metrics: CaseMetrics::default() }).collect();
    // The on-device heuristics are columns of the similarity features the model reads.
    let column = |f: &Features, k: usize| -> Vec<f32> {
        (0..f.n_cands()).map(|i| f.cand_sim[i * crate::features::SIM_FEATURES + k]).collect()
    };
    for (i, (case, f)) in cases.iter().zip(&features).enumerate() {
        let orders = [
            (0..case.candidates.len()).collect(),
            order_by(&popularity_scores(case, &history.server.counts)),
            order_by(&column(f, 0)),
            order_by(&column(f, 5)),
            order_by(&scorers.linear.scores(&linear_inputs(f))),
            order_by(&history.sknn.scores(&case.prefix, &case.candidates)),
            order_by(&history.knn.scores(case)),
            order_by(&f32_scores[i]),
            order_by(&q8_scores[i]),
        ];
        for (m, order) in methods.iter_mut().zip(&orders) {
            m.metrics.push(order, case);
        }
    }
    Ok(methods)
}

fn summarize_table(methods: &[Method], cases: &[RankingCase], config: &EvalConfig) -> Table {
    let hrs = &methods.iter().find(|m| m.name == "HR-S Q8_0").expect("HR-S Q8_0 runs").metrics;
    let deltas = methods
        .iter()
        .filter(|m| !m.name.starts_with("HR-S"))
        .map(|m| {
            let diff: Vec<f64> = hrs.ndcg10.iter().zip(&m.metrics.ndcg10).map(|(a, b)| a - b).collect();
            (m.name.to_owned(), bootstrap_mean(&diff, config.bootstrap, 0.95, config.seed + 1))
        })
        .collect();
    Table { n_cases: cases.len(), rows: methods.iter().map(|m| summarize(m, cases, config)).collect(), deltas }
}

fn summarize(m: &Method, cases: &[RankingCase], config: &EvalConfig) -> MethodRow {
    let est = |v: &[f64], salt: u64| bootstrap_mean(v, config.bootstrap, 0.95, config.seed + salt);
    let metrics = &m.metrics;
    let skips: Vec<f64> = metrics.skip3.iter().flatten().copied().collect();
    let buckets = BUCKETS
        .iter()
        .map(|&(lo, hi, label)| {
            let v: Vec<f64> = cases
                .iter()
                .zip(&metrics.ndcg10)
                .filter(|(c, _)| (lo..=hi).contains(&c.prefix.len()))
                .map(|(_, &x)| x)
                .collect();
            (label.to_owned(), est(&v, 5))
        })
        .collect();
    MethodRow {
        name: m.name.to_owned(),
        inputs: m.inputs,
        ndcg10: est(&metrics.ndcg10, 2),
        mrr: est(&metrics.mrr, 3),
        hr10: est(&metrics.hr10, 4),
        skip3: (!skips.is_empty()).then(|| est(&skips, 6)),
        buckets,
    }
}
