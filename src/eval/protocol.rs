//! The offline protocol of DESIGN.md §5: split by time, fit the server and the baselines on the
//! training split, draw ranking cases from the test split, rank them with every method, and
//! aggregate with bootstrap confidence intervals, overall and per session-length bucket.

use web_time::Instant;

use super::baselines::{popularity_scores, ItemKnn};
use super::cases::{build_cases, case_features, CaseConfig, RankingCase};
use super::embed::ItemEmbeddings;
use super::metrics::{bootstrap_mean, hit_at, ndcg_at, order_by, rank_of, reciprocal_rank, skip_at_3, Estimate};
use super::server::ServerModel;
use super::split::Split;
use crate::dataset::Dataset;
use crate::error::Result;
use crate::model::cpu::{CpuModel, Scratch};
use crate::model::{HrsModel, ModelFile, Precision};

/// Session-length buckets (events before the target).
pub const BUCKETS: [(usize, usize, &str); 5] =
    [(1, 1, "1"), (2, 4, "2-4"), (5, 9, "5-9"), (10, 19, "10-19"), (20, usize::MAX, "20+")];

#[derive(Debug, Clone)]
pub struct EvalConfig {
    pub cases: CaseConfig,
    /// Cases for the full-catalogue ranking (0: skip it).
    pub full_catalogue_cases: usize,
    pub bootstrap: usize,
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig { cases: CaseConfig::default(), full_catalogue_cases: 0, bootstrap: 1000, seed: 11 }
    }
}

/// Per-case metrics of one method.
#[derive(Debug, Clone, Default)]
pub struct CaseMetrics {
    pub ndcg10: Vec<f64>,
    pub mrr: Vec<f64>,
    pub hr10: Vec<f64>,
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

/// One row of the results table.
#[derive(Debug, Clone)]
pub struct MethodRow {
    pub name: String,
    pub ndcg10: Estimate,
    pub mrr: Estimate,
    pub hr10: Estimate,
    pub skip3: Option<Estimate>,
    /// NDCG@10 per session-length bucket (label, estimate).
    pub buckets: Vec<(String, Estimate)>,
}

/// Everything one evaluation produced.
#[derive(Debug, Clone)]
pub struct EvalReport {
    pub dataset: String,
    pub model_id: String,
    pub n_items: usize,
    pub n_sessions: [usize; 3],
    pub n_cases: usize,
    pub n_cands: Option<usize>,
    pub rows: Vec<MethodRow>,
    /// HR-S Q8_0 minus each baseline, NDCG@10, paired bootstrap.
    pub deltas: Vec<(String, Estimate)>,
    /// |NDCG@10(Q8_0) − NDCG@10(f32)| / NDCG@10(f32).
    pub q8_relative_gap: f64,
    pub full_catalogue: Option<(usize, Vec<MethodRow>)>,
    pub seconds: f64,
}

/// A dataset made ready for ranking: split, embeddings, server.
pub struct Prepared {
    pub dataset: Dataset,
    pub split: Split,
    pub embeddings: ItemEmbeddings,
    pub server: ServerModel,
}

impl Prepared {
    pub fn new(dataset: Dataset, dim: usize) -> Self {
        let split = Split::default_for(&dataset);
        let embeddings = ItemEmbeddings::build(&dataset, &split.train, dim);
        let server = ServerModel::fit(&dataset, &split.train, &embeddings);
        Prepared { dataset, split, embeddings, server }
    }

    pub fn cases(&self, sessions: &[usize], config: &CaseConfig) -> Vec<RankingCase> {
        build_cases(&self.dataset, sessions, &self.server, &self.embeddings, config)
    }
}

/// The two HR-S rows: the f32 weights through candle (the reference), and the shipped model
/// through the CPU engine the ranker runs.
struct Scorers {
    f32_model: HrsModel,
    engine: CpuModel,
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
    let scorers = Scorers {
        f32_model: HrsModel::from_file_tensors(reference.config.clone(), &reference.tensors, Precision::F32)?,
        engine: CpuModel::new(&model_file.config, &model_file.tensors)?,
    };
    let knn = ItemKnn::fit(&prepared.dataset, &prepared.split.train);
    let mut case_config = config.cases.clone();
    case_config.max_events = model_file.config.max_events;
    let cases = prepared.cases(&prepared.split.test, &case_config);
    let methods = run_methods(prepared, &cases, &knn, &scorers)?;
    let rows: Vec<MethodRow> = methods.iter().map(|(name, m)| summarize(name, m, &cases, config)).collect();

    let hrs = &methods.iter().find(|(n, _)| n == "HR-S Q8_0").expect("HR-S Q8_0 runs").1;
    let deltas = methods
        .iter()
        .filter(|(n, _)| !n.starts_with("HR-S"))
        .map(|(name, m)| {
            let diff: Vec<f64> = hrs.ndcg10.iter().zip(&m.ndcg10).map(|(a, b)| a - b).collect();
            (name.clone(), bootstrap_mean(&diff, config.bootstrap, 0.95, config.seed + 1))
        })
        .collect();
    let ndcg = |name: &str| rows.iter().find(|r| r.name == name).map_or(f64::NAN, |r| r.ndcg10.mean);
    let q8_relative_gap = (ndcg("HR-S Q8_0") - ndcg("HR-S f32")).abs() / ndcg("HR-S f32");

    let full_catalogue = if config.full_catalogue_cases > 0 {
        let full_config = CaseConfig { n_cands: None, max_cases: config.full_catalogue_cases, ..case_config.clone() };
        let full_cases = prepared.cases(&prepared.split.test, &full_config);
        let methods = run_methods(prepared, &full_cases, &knn, &scorers)?;
        Some((full_cases.len(), methods.iter().map(|(n, m)| summarize(n, m, &full_cases, config)).collect()))
    } else {
        None
    };

    Ok(EvalReport {
        dataset: prepared.dataset.name.clone(),
        model_id: model_file.model_id.clone(),
        n_items: prepared.dataset.catalog.len(),
        n_sessions: [prepared.split.train.len(), prepared.split.valid.len(), prepared.split.test.len()],
        n_cases: cases.len(),
        n_cands: config.cases.n_cands,
        rows,
        deltas,
        q8_relative_gap,
        full_catalogue,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Per-case metrics of every method, in table order.
fn run_methods(
    prepared: &Prepared,
    cases: &[RankingCase],
    knn: &ItemKnn,
    scorers: &Scorers,
) -> Result<Vec<(String, CaseMetrics)>> {
    let features: Vec<_> = cases.iter().map(|c| case_features(c, &prepared.dataset, &prepared.embeddings)).collect();
    // Big lists (full catalogue) go one at a time; small ones in batches.
    let batch = if cases.iter().any(|c| c.candidates.len() > 200) { 1 } else { 64 };
    let f32_scores = scorers.f32_model.score_many(&features, batch)?;
    let mut scratch = Scratch::default();
    let q8_scores = features.iter().map(|f| scorers.engine.score(f, &mut scratch)).collect::<Result<Vec<_>>>()?;
    let mut methods: Vec<(String, CaseMetrics)> =
        ["server order", "popularity", "item-kNN (session)", "HR-S f32", "HR-S Q8_0"]
            .iter()
            .map(|n| (n.to_string(), CaseMetrics::default()))
            .collect();
    for (i, case) in cases.iter().enumerate() {
        let server: Vec<usize> = (0..case.candidates.len()).collect();
        let orders = [
            server,
            order_by(&popularity_scores(case, &prepared.server.counts)),
            order_by(&knn.scores(case)),
            order_by(&f32_scores[i]),
            order_by(&q8_scores[i]),
        ];
        for ((_, m), order) in methods.iter_mut().zip(&orders) {
            m.push(order, case);
        }
    }
    Ok(methods)
}

fn summarize(name: &str, m: &CaseMetrics, cases: &[RankingCase], config: &EvalConfig) -> MethodRow {
    let est = |v: &[f64], salt: u64| bootstrap_mean(v, config.bootstrap, 0.95, config.seed + salt);
    let skips: Vec<f64> = m.skip3.iter().flatten().copied().collect();
    let buckets = BUCKETS
        .iter()
        .map(|&(lo, hi, label)| {
            let v: Vec<f64> = cases
                .iter()
                .zip(&m.ndcg10)
                .filter(|(c, _)| (lo..=hi).contains(&c.prefix.len()))
                .map(|(_, &x)| x)
                .collect();
            (label.to_owned(), est(&v, 5))
        })
        .collect();
    MethodRow {
        name: name.to_owned(),
        ndcg10: est(&m.ndcg10, 2),
        mrr: est(&m.mrr, 3),
        hr10: est(&m.hr10, 4),
        skip3: (!skips.is_empty()).then(|| est(&skips, 6)),
        buckets,
    }
}
