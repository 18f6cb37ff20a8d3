//! Checkpoints of a training run (`TrainConfig::checkpoint`). After every epoch the trainer
//! saves everything the next epoch depends on: the weights, the AdamW moments and step count,
//! the batch order and its generator, the epoch log and the best epoch's weights. A run resumed
//! from it (`TrainConfig::resume`) continues exactly as the uninterrupted run would have.
//!
//! Layout: `state.json` names the tensor file of its epoch (`epoch-N.safetensors`); the tensor
//! file is written first and `state.json` replaced last, by rename, so an interruption at any
//! point leaves the previous epoch's checkpoint whole.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::trainer::EpochLog;
use crate::error::{Error, Result};

/// Version of the checkpoint layout.
const FORMAT: u32 = 1;
/// The state file's name in a checkpoint directory.
pub const STATE: &str = "state.json";

/// What a checkpoint holds besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Identifies the run (configuration and data drawn): a checkpoint resumes only its own run.
    pub fingerprint: String,
    /// Epochs finished.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// The batch-order generator's state.
    pub shuffle_state: u64,
    /// The order of the training cases the next epoch's shuffle starts from.
    pub order: Vec<u32>,
    /// One entry per finished epoch.
    pub log: Vec<EpochLog>,
    /// The best validation NDCG@10 so far and its epoch.
    pub best: Option<(f64, usize)>,
}

/// `state.json`: the state, with the layout's version and the name of its tensor file.
#[derive(Serialize, Deserialize)]
struct StateFile {
    /// [`FORMAT`].
    format: u32,
    /// The tensor file, relative to the checkpoint directory.
    tensors: String,
    #[serde(flatten)]
    state: CheckpointState,
}

/// The tensors of a checkpoint, by role.
pub struct CheckpointTensors {
    /// Current weights, by tensor name.
    pub weights: HashMap<String, Tensor>,
    /// AdamW first and second moments, by tensor name.
    pub moments: HashMap<String, (Tensor, Tensor)>,
    /// The best epoch's weights.
    pub best: HashMap<String, Tensor>,
}

const ROLES: [&str; 4] = ["weight.", "m.", "v.", "best."];

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(path, e.to_string())
}

/// Saves a checkpoint into `dir` (created if needed), replacing the one there.
pub fn save(dir: &Path, state: CheckpointState, tensors: &CheckpointTensors) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut flat: HashMap<String, Tensor> = HashMap::new();
    for (k, t) in &tensors.weights {
        flat.insert(format!("{}{k}", ROLES[0]), t.clone());
    }
    for (k, (m, v)) in &tensors.moments {
        flat.insert(format!("{}{k}", ROLES[1]), m.clone());
        flat.insert(format!("{}{k}", ROLES[2]), v.clone());
    }
    for (k, t) in &tensors.best {
        flat.insert(format!("{}{k}", ROLES[3]), t.clone());
    }
    let file = StateFile { format: FORMAT, tensors: format!("epoch-{}.safetensors", state.epoch), state };
    let tensor_path = dir.join(&file.tensors);
    candle_core::safetensors::save(&flat, &tensor_path).map_err(|e| io(&tensor_path, e))?;
    let state_path = dir.join(STATE);
    let tmp = dir.join(format!("{STATE}.tmp"));
    let json = serde_json::to_string(&file).map_err(|e| io(&tmp, e))?;
    std::fs::write(&tmp, json).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &state_path).map_err(|e| io(&state_path, e))?;
    // Earlier epochs' tensor files are no longer referenced.
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("epoch-") && name.ends_with(".safetensors") && name != file.tensors {
            std::fs::remove_file(entry.path()).map_err(|e| io(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// The checkpoint in `dir`, or `None` when there is none.
pub fn load(dir: &Path) -> Result<Option<(CheckpointState, CheckpointTensors)>> {
    let state_path = dir.join(STATE);
    if !state_path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&state_path).map_err(|e| io(&state_path, e))?;
    let file: StateFile = serde_json::from_str(&text).map_err(|e| io(&state_path, e))?;
    if file.format != FORMAT {
        return Err(io(&state_path, format!("checkpoint format {}, this build reads {FORMAT}", file.format)));
    }
    let tensor_path: PathBuf = dir.join(&file.tensors);
    let flat = candle_core::safetensors::load(&tensor_path, &Device::Cpu).map_err(|e| io(&tensor_path, e))?;
    let mut tensors = CheckpointTensors { weights: HashMap::new(), moments: HashMap::new(), best: HashMap::new() };
    let mut first = HashMap::new();
    let mut second = HashMap::new();
    for (key, t) in flat {
        let role = ROLES.iter().position(|r| key.starts_with(r)).ok_or_else(|| io(&tensor_path, format!("{key}?")))?;
        let name = key[ROLES[role].len()..].to_owned();
        match role {
            0 => tensors.weights.insert(name, t),
            1 => first.insert(name, t),
            2 => second.insert(name, t),
            _ => tensors.best.insert(name, t),
        };
    }
    for (name, m) in first {
        let v = second.remove(&name).ok_or_else(|| io(&tensor_path, format!("no second moment of {name}")))?;
        tensors.moments.insert(name, (m, v));
    }
    Ok(Some((file.state, tensors)))
}
