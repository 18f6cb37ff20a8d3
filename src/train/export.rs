//! Writing a trained model: the Q8_0 file that ships, an f32 twin for parity checks, their
//! entries in `manifest.json`, and the model card.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Tensor;

use super::trainer::TrainOutcome;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, ManifestEntry};
use crate::model::{write_model, HrsConfig, ModelFile, Precision};

/// Paths written by [`export`].
#[derive(Debug, Clone)]
pub struct Exported {
    /// The Q8_0 model, the file that ships (the `out` path given).
    pub q8: PathBuf,
    /// Its f32 twin, `<stem>-f32.gguf` beside it.
    pub f32: PathBuf,
    /// The `manifest.json` updated in that directory.
    pub manifest: PathBuf,
    /// The Q8_0 model's manifest entry, as written.
    pub q8_entry: ManifestEntry,
}

/// Writes `out` (Q8_0) and `<stem>-f32.gguf` beside it, and lists both in the directory's
/// `manifest.json` (replacing entries for the same files; the Q8_0 model becomes the default).
pub fn export(
    weights: &HashMap<String, Tensor>,
    config: &HrsConfig,
    out: &Path,
    name: &str,
    notes: &[(&str, &str)],
) -> Result<Exported> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
    let f32_path = dir.join(format!("{stem}-f32.gguf"));
    let mut entries = Vec::new();
    let values: HashMap<String, Vec<f32>> =
        weights.iter().map(|(k, t)| Ok((k.clone(), t.flatten_all()?.to_vec1::<f32>()?))).collect::<Result<_>>()?;
    for (path, precision, file_name) in [
        (out.to_path_buf(), Precision::Q8_0, name.to_owned()),
        (f32_path.clone(), Precision::F32, format!("{name}-f32")),
    ] {
        let bytes = write_model(config, &file_name, &values, precision, notes)?;
        std::fs::write(&path, &bytes).map_err(|e| Error::io(&path, e))?;
        let file = ModelFile::from_bytes(&bytes)?;
        let fname = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
        entries.push(ManifestEntry::describe(&fname, &bytes, &file));
    }
    let manifest_path = dir.join("manifest.json");
    let mut manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Manifest::from_json(&text)?,
        Err(_) => Manifest { default: name.to_owned(), models: Vec::new() },
    };
    for entry in &entries {
        manifest.models.retain(|m| m.file != entry.file && m.name != entry.name);
        manifest.models.push(entry.clone());
    }
    manifest.default = name.to_owned();
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest serializes") + "\n";
    std::fs::write(&manifest_path, json).map_err(|e| Error::io(&manifest_path, e))?;
    Ok(Exported { q8: out.to_path_buf(), f32: f32_path, manifest: manifest_path, q8_entry: entries.remove(0) })
}

/// The training part of a model card (markdown).
pub fn card_training_section(
    outcome: &TrainOutcome,
    command: &str,
    sources: &[String],
    config: &super::TrainConfig,
) -> String {
    let mut s = String::from("## Training\n\n");
    s.push_str(&format!("Command: `{command}`\n\n"));
    s.push_str(&format!(
        "Data (cases from the training windows, scored with statistics of the history before them; the validation windows for early stopping, NDCG@10 averaged over the sources): {}. {} training lists of {} candidates; \
         seed {}; AdamW lr {} wd {}; batch {}; best epoch {} of {}.\n\n",
        sources.join(", "),
        outcome.n_train_cases,
        config.n_cands,
        config.seed,
        config.lr,
        config.weight_decay,
        config.batch_size,
        outcome.best_epoch,
        outcome.log.len()
    ));
    s.push_str("| epoch | train loss | valid NDCG@10 |\n|---|---|---|\n");
    for e in &outcome.log {
        s.push_str(&format!("| {} | {:.4} | {:.4} |\n", e.epoch, e.train_loss, e.valid_ndcg));
    }
    s
}

/// Replaces (or appends) the block between `<!-- begin:{key} -->` and `<!-- end:{key} -->`.
pub fn replace_section(doc: &str, key: &str, body: &str) -> String {
    let begin = format!("<!-- begin:{key} -->");
    let end = format!("<!-- end:{key} -->");
    let block = format!("{begin}\n{}\n{end}", body.trim_end());
    match (doc.find(&begin), doc.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &doc[..a], block, &doc[b + end.len()..]),
        _ => format!("{}\n\n{block}\n", doc.trim_end()),
    }
}
