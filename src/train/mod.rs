//! Training HR-S (native, `train` feature): the trainer and the export of model files, manifest
//! entries and model card sections.

mod export;
mod trainer;

pub use export::{card_training_section, export, replace_section, Exported};
pub use trainer::{train, EpochLog, TrainConfig, TrainOutcome};
