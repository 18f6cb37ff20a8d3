//! Offline evaluation (docs/ARCHITECTURE.md, "Evaluation"), native only: time-ordered windows,
//! statistics (learned embeddings, the server's ranker, co-occurrence, neighbour lists, the
//! session-kNN index) fitted on the history before each case window, baselines that run on the
//! device and baselines that need the server, metrics with bootstrap intervals, reports.

mod ab;
mod baselines;
mod cases;
mod cooccur;
mod embed;
mod history;
mod linear;
pub mod metrics;
mod midterm;
mod protocol;
mod report;
mod server;
mod sknn;
mod split;
mod svd;
mod total_order;

pub use ab::{run_ab, sample_ratio, AbConfig, AbPlan, AbReport, ArmOutcome, Policy, SampleRatio};
pub use baselines::{embedding_knn_scores, neighbor_knn_scores};
pub use baselines::{popularity_scores, ItemKnn};
pub use cases::{
    build_cases, case_features, case_page, eligible_positions, is_target, picks, sessions_read, CandidateList,
    CaseConfig, RankingCase, RecentRankings, ServerRanking,
};
pub use cooccur::{CoOccurrence, WINDOW};
pub use embed::{EmbeddingKind, ItemEmbeddings};
pub use history::History;
pub use linear::{linear_inputs, LinearModel, LINEAR_INPUTS};
pub use midterm::{cluster_bootstrap, compare_context, ContextRow, MidTermReport};
pub use protocol::{
    evaluate, fit_linear, CaseMetrics, EvalConfig, EvalDraws, EvalReport, Inputs, MethodRow, Part, Prepared, Table,
    BUCKETS, METHODS,
};
pub use server::{ProfileSums, ServerModel, ServerScorer};
pub use sknn::{IndexedSession, Sknn, SknnConfig, SknnIndexer};
pub use split::{Split, DEFAULT_FRACTIONS};
pub use svd::{ppmi_embeddings, truncated_svd, truncated_svd_with, SparseRows};
