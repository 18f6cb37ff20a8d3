//! Training HR-S (native, `train` feature): the trainer and the export of model files, manifest
//! entries and model card sections.

pub mod checkpoint;
mod export;
mod optimizer;
mod trainer;

pub use export::{card_training_section, export, replace_section, Exported};
pub use optimizer::{AdamW, AdamWParams};
pub use trainer::{case_draws, train, EpochLog, TrainConfig, TrainOutcome};
