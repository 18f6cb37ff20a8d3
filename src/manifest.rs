//! `models/manifest.json`: which model files exist and what each must be.
//!
//! ```json
//! { "default": "homerank-s",
//!   "models": [ { "name": "homerank-s", "file": "homerank-s.gguf", "sha256": "…", "bytes": 251424,
//!                 "precision": "q8_0", "featureSchema": 1, "embeddingDim": 32 } ] }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{sha256_hex, ModelFile};

/// The manifest of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Name of the model loaded when none is named.
    pub default: String,
    /// One entry per model file in the directory.
    pub models: Vec<ManifestEntry>,
}

/// What a model file must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    /// The model's `general.name`, e.g. `homerank-s`; what `default` refers to.
    pub name: String,
    /// File name relative to the manifest.
    pub file: String,
    /// SHA-256 of the whole file, hex (any case); checked before the file is parsed.
    pub sha256: String,
    /// File size in bytes (informational: for download progress, not checked on load).
    pub bytes: u64,
    /// Matmul weight format, `f32` or `q8_0` (informational, not checked on load).
    pub precision: String,
    /// Feature schema the model was trained on (`featureSchema`); must match the file's.
    pub feature_schema: u32,
    /// Values per item embedding (`embeddingDim`); must match the file's and every page's.
    pub embedding_dim: usize,
}

impl Manifest {
    /// Parses `manifest.json` (camelCase fields).
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Json { what: "manifest", message: e.to_string() })
    }

    /// The entry for `model_path` in the `manifest.json` of its directory, if both exist.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn entry_beside(model_path: &std::path::Path) -> Result<Option<ManifestEntry>> {
        let manifest_path = model_path.with_file_name("manifest.json");
        if !manifest_path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
        let manifest = Manifest::from_json(&text)?;
        let file = model_path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        Ok(manifest.entry_for_file(file).cloned())
    }

    /// The entry for a file name (e.g. `homerank-s.gguf`).
    pub fn entry_for_file(&self, file: &str) -> Option<&ManifestEntry> {
        self.models.iter().find(|m| m.file == file)
    }

    /// The default model's entry.
    pub fn default_entry(&self) -> Option<&ManifestEntry> {
        self.models.iter().find(|m| m.name == self.default)
    }
}

impl ManifestEntry {
    /// Describes a parsed model file as a manifest entry.
    pub fn describe(file: &str, bytes: &[u8], model: &ModelFile) -> Self {
        ManifestEntry {
            name: model.name.clone(),
            file: file.to_owned(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
            precision: model.precision.as_str().to_owned(),
            feature_schema: model.config.feature_schema,
            embedding_dim: model.config.embedding_dim,
        }
    }

    /// Checks the bytes' checksum before they are parsed.
    pub fn verify_checksum(&self, bytes: &[u8]) -> Result<()> {
        check_sha256(bytes, &self.sha256)
    }

    /// Checks that a parsed model is the one the entry describes.
    pub fn verify_model(&self, model: &ModelFile) -> Result<()> {
        if model.config.feature_schema != self.feature_schema {
            return Err(Error::InvalidModel(format!(
                "'{}' has feature schema {}, the manifest says {}",
                self.file, model.config.feature_schema, self.feature_schema
            )));
        }
        if model.config.embedding_dim != self.embedding_dim {
            return Err(Error::EmbeddingDim {
                expected: self.embedding_dim,
                got: model.config.embedding_dim,
                context: format!("the model file '{}' (per the manifest)", self.file),
            });
        }
        Ok(())
    }
}

/// Checks that `bytes` hash to `expected` (hex SHA-256, any case).
pub fn check_sha256(bytes: &[u8], expected: &str) -> Result<()> {
    check_digest(&sha256_hex(bytes), expected)
}

/// [`check_sha256`] with the bytes' SHA-256 (`actual`, hex) already computed, e.g. by the host's
/// own SHA-256 (WebCrypto in a browser).
pub fn check_digest(actual: &str, expected: &str) -> Result<()> {
    if !actual.trim().eq_ignore_ascii_case(expected.trim()) {
        return Err(Error::Checksum { expected: expected.to_owned(), actual: actual.trim().to_ascii_lowercase() });
    }
    Ok(())
}
