//! Offline evaluation (DESIGN.md §5), native only: time split, server embeddings and the
//! server's non-session ranker fitted on the training split, ranking cases from the test split,
//! baselines, metrics with bootstrap intervals, and the markdown/SVG report.

mod baselines;
mod cases;
mod embed;
pub mod metrics;
mod protocol;
mod report;
mod server;
mod split;

pub use baselines::{popularity_scores, ItemKnn};
pub use cases::{build_cases, case_features, is_target, CaseConfig, RankingCase};
pub use embed::ItemEmbeddings;
pub use protocol::{evaluate, CaseMetrics, EvalConfig, EvalReport, MethodRow, Prepared, BUCKETS};
pub use server::ServerModel;
pub use split::Split;
