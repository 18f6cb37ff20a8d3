//! `prep`'s stand-in when homerank is built without the `prep` feature: the engine and
//! manifest types, and functions that say which feature to build with, so callers need no `cfg`.

mod engine;
mod manifest;

use std::path::Path;

pub use engine::{Engine, DEFAULT_MEMORY_LIMIT, MEMORY_PER_PARTITION};
pub use manifest::{PrepManifest, Shard, TableFiles, MANIFEST, PREP_FORMAT};

use crate::dataset::Dataset;
use crate::error::{Error, Result};

const NOT_ENABLED: &str = "Parquet logs and `homerank prepare` (build with --features prep)";

/// Whether this build has the Ballista engine.
pub const BALLISTA_ENABLED: bool = false;

/// Parquet logs need the `prep` feature.
pub fn convert(_dataset: &Dataset, _out: &Path) -> Result<u64> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// Preparation needs the `prep` feature.
pub fn prepare(_log: &Path, _out: &Path, _engine: &Engine) -> Result<PrepManifest> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// Parquet logs need the `prep` feature.
pub fn load_log(_path: &Path) -> Result<Dataset> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// Evaluating from a prepared directory needs the `prep` feature.
#[cfg(feature = "train")]
pub fn prepared_for_eval(_dir: &Path, _config: &crate::eval::EvalConfig, _dim: usize) -> Result<crate::eval::Prepared> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// Evaluating from a prepared directory needs the `prep` feature.
#[cfg(feature = "train")]
pub fn prepared_for_eval_with_log(
    _dir: &Path,
    _log: Option<&Path>,
    _dim: usize,
    _kind: crate::eval::EmbeddingKind,
) -> Result<crate::eval::Prepared> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// Training from a prepared directory needs the `prep` feature.
#[cfg(feature = "train")]
pub fn prepared_for_training(
    _dir: &Path,
    _config: &crate::train::TrainConfig,
    _source: usize,
) -> Result<crate::eval::Prepared> {
    Err(Error::NotEnabled(NOT_ENABLED))
}
