//! Offline evaluation (DESIGN.md §5), native only: time split, server embeddings and the
//! server's non-session ranker fitted on the training split, ranking cases from the test split,
//! baselines, metrics with bootstrap intervals, and the markdown/SVG report.

mod baselines;
mod cases;
mod cooccur;
mod embed;
pub mod metrics;
mod protocol;
mod report;
mod server;
mod sknn;
mod split;
mod svd;

pub use baselines::{embedding_knn_scores, neighbor_knn_scores};
pub use baselines::{popularity_scores, ItemKnn};
pub use cases::{build_cases, case_features, is_target, CaseConfig, RankingCase};
pub use cooccur::CoOccurrence;
pub use embed::ItemEmbeddings;
pub use protocol::{evaluate, CaseMetrics, EvalConfig, EvalReport, MethodRow, Prepared, BUCKETS};
pub use server::ServerModel;
pub use sknn::{Sknn, SknnConfig};
pub use split::Split;
pub use svd::{ppmi_embeddings, truncated_svd, truncated_svd_with, SparseRows};
