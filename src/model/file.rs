//! The model file: GGUF (candle's `quantized::gguf_file`) with HR-S metadata.
//!
//! Metadata keys: `general.architecture` = `homerank-s`, `general.name`, `homerank.*` for every
//! [`HrsConfig`] field, and `homerank.data_sha256`: the SHA-256 of the tensor data section, so a
//! file damaged anywhere in its weights is refused even without a manifest. Matmul weights are
//! Q8_0 or f32 with shape `[out, in]`; every other tensor is f32.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use super::config::{HrsConfig, TensorKind};
use super::hrs::{Precision, Weight};
use crate::error::{Error, Result};

/// Value of `general.architecture`.
pub const ARCHITECTURE: &str = "homerank-s";
const DATA_SHA_KEY: &str = "homerank.data_sha256";
/// Stand-in for the data checksum while the file is first laid out (same length as the hex digest).
const SHA_PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A parsed model file.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub config: HrsConfig,
    /// `general.name`, e.g. `homerank-s`.
    pub name: String,
    /// `name@sha256:<first 12 hex digits of the file's SHA-256>`.
    pub model_id: String,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Matmul weight format in the file.
    pub precision: Precision,
    pub weights: HashMap<String, Weight>,
    /// String metadata other than the architecture (`homerank.trained_on`, …).
    pub notes: Vec<(String, String)>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl ModelFile {
    /// Parses and checks a model file: GGUF structure, architecture, dimensions, schema, every
    /// tensor's shape and type, and the data checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |m: String| Error::InvalidModel(m);
        let mut reader = Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut reader)
            .map_err(|e| bad(format!("not a readable GGUF file: {e}")))?;
        let md = &content.metadata;
        let string = |key: &str| -> Result<String> {
            match md.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(bad(format!("metadata '{key}' is {:?}, expected a string", other.value_type()))),
                None => Err(bad(format!("metadata '{key}' is missing"))),
            }
        };
        let uint = |key: &str| -> Result<usize> {
            md.get(key)
                .ok_or_else(|| bad(format!("metadata '{key}' is missing")))?
                .to_u32()
                .map(|v| v as usize)
                .map_err(|e| bad(format!("metadata '{key}': {e}")))
        };
        let arch = string("general.architecture")?;
        if arch != ARCHITECTURE {
            return Err(bad(format!("architecture is '{arch}', expected '{ARCHITECTURE}'")));
        }
        let config = HrsConfig {
            d_model: uint("homerank.d_model")?,
            n_heads: uint("homerank.n_heads")?,
            d_ff: uint("homerank.d_ff")?,
            n_session_layers: uint("homerank.n_session_layers")?,
            n_cand_layers: uint("homerank.n_cand_layers")?,
            embedding_dim: uint("homerank.embedding_dim")?,
            max_events: uint("homerank.max_events")?,
            ln_eps: md
                .get("homerank.ln_eps")
                .ok_or_else(|| bad("metadata 'homerank.ln_eps' is missing".into()))?
                .to_f64()
                .map_err(|e| bad(format!("metadata 'homerank.ln_eps': {e}")))?,
            feature_schema: uint("homerank.feature_schema")? as u32,
        };
        config.validate()?;

        let expected = string(DATA_SHA_KEY)?;
        let data_start = (content.tensor_data_offset as usize).min(bytes.len());
        let actual = sha256_hex(&bytes[data_start..]);
        if actual != expected {
            return Err(Error::Checksum { expected, actual });
        }

        let mut weights = HashMap::new();
        let mut precision = Precision::F32;
        for spec in config.tensor_specs() {
            let info = content
                .tensor_infos
                .get(&spec.name)
                .ok_or_else(|| bad(format!("tensor '{}' is missing", spec.name)))?;
            let allowed = match spec.kind {
                TensorKind::Matmul => matches!(info.ggml_dtype, GgmlDType::F32 | GgmlDType::Q8_0),
                TensorKind::Plain => info.ggml_dtype == GgmlDType::F32,
            };
            if !allowed {
                return Err(bad(format!("tensor '{}' is stored as {:?}", spec.name, info.ggml_dtype)));
            }
            if info.shape.dims() != spec.shape.as_slice() {
                return Err(bad(format!(
                    "tensor '{}' has shape {:?}, expected {:?}",
                    spec.name,
                    info.shape.dims(),
                    spec.shape
                )));
            }
            if info.ggml_dtype == GgmlDType::Q8_0 {
                precision = Precision::Q8_0;
            }
            let q = info
                .read(&mut reader, content.tensor_data_offset, &Device::Cpu)
                .map_err(|e| bad(format!("tensor '{}': {e}", spec.name)))?;
            let w = match spec.kind {
                TensorKind::Matmul => Weight::Quantized(Arc::new(q)),
                TensorKind::Plain => Weight::Dense(
                    q.dequantize(&Device::Cpu).map_err(|e| bad(format!("tensor '{}': {e}", spec.name)))?,
                ),
            };
            if let Weight::Dense(t) = &w {
                if let Some(v) = t.flatten_all()?.to_vec1::<f32>()?.iter().find(|v| !v.is_finite()) {
                    return Err(bad(format!("tensor '{}' holds a non-finite value {v}", spec.name)));
                }
            }
            weights.insert(spec.name, w);
        }

        let name = string("general.name").unwrap_or_else(|_| ARCHITECTURE.to_owned());
        let sha256 = sha256_hex(bytes);
        let mut notes: Vec<(String, String)> = md
            .iter()
            .filter(|(k, _)| k.starts_with("homerank.") && k.as_str() != DATA_SHA_KEY)
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                _ => None,
            })
            .collect();
        notes.sort();
        Ok(ModelFile {
            model_id: format!("{name}@sha256:{}", &sha256[..12]),
            name,
            sha256,
            precision,
            config,
            weights,
            notes,
        })
    }
}

/// Writes a model file from f32 tensors (`config.tensor_specs()` names, matmul weights `[out, in]`).
///
/// `precision` picks the matmul weight format; `notes` become `homerank.<key>` string metadata.
pub fn write_model(
    config: &HrsConfig,
    name: &str,
    weights: &HashMap<String, Tensor>,
    precision: Precision,
    notes: &[(&str, &str)],
) -> Result<Vec<u8>> {
    config.validate()?;
    let specs = config.tensor_specs();
    let mut tensors = Vec::with_capacity(specs.len());
    for spec in &specs {
        let t = weights
            .get(&spec.name)
            .ok_or_else(|| Error::InvalidModel(format!("tensor '{}' is missing", spec.name)))?;
        if t.dims() != spec.shape.as_slice() {
            return Err(Error::InvalidModel(format!(
                "tensor '{}' has shape {:?}, expected {:?}",
                spec.name,
                t.dims(),
                spec.shape
            )));
        }
        let dtype = match (spec.kind, precision) {
            (TensorKind::Matmul, Precision::Q8_0) if quantizable(&spec.shape) => GgmlDType::Q8_0,
            _ => GgmlDType::F32,
        };
        let t = t.to_dtype(candle_core::DType::F32)?.to_device(&Device::Cpu)?.contiguous()?;
        tensors.push((spec.name.as_str(), QTensor::quantize(&t, dtype)?));
    }
    let u = |v: usize| Value::U32(v as u32);
    let note_keys: Vec<String> = notes.iter().map(|(k, _)| format!("homerank.{k}")).collect();
    let mut metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String(ARCHITECTURE.into())),
        ("general.name", Value::String(name.into())),
        ("homerank.d_model", u(config.d_model)),
        ("homerank.n_heads", u(config.n_heads)),
        ("homerank.d_ff", u(config.d_ff)),
        ("homerank.n_session_layers", u(config.n_session_layers)),
        ("homerank.n_cand_layers", u(config.n_cand_layers)),
        ("homerank.embedding_dim", u(config.embedding_dim)),
        ("homerank.max_events", u(config.max_events)),
        ("homerank.ln_eps", Value::F64(config.ln_eps)),
        ("homerank.feature_schema", Value::U32(config.feature_schema)),
        (DATA_SHA_KEY, Value::String(SHA_PLACEHOLDER.into())),
    ];
    for (key, (_, v)) in note_keys.iter().zip(notes) {
        metadata.push((key.as_str(), Value::String((*v).to_owned())));
    }
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let qt: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (*k, v)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &qt)?;
    let mut bytes = out.into_inner();

    // Fill in the data checksum now that the layout is fixed; the digest has the placeholder's
    // length, so no offset moves.
    let data_start = gguf_file::Content::read(&mut Cursor::new(&bytes))?.tensor_data_offset as usize;
    let digest = sha256_hex(&bytes[data_start..]);
    let at = find(&bytes[..data_start], SHA_PLACEHOLDER.as_bytes())
        .ok_or_else(|| Error::InvalidModel("checksum placeholder not found in the header".into()))?;
    bytes[at..at + digest.len()].copy_from_slice(digest.as_bytes());
    Ok(bytes)
}

/// Q8_0 quantizes rows in blocks of 32 values; narrower rows stay f32.
pub(crate) fn quantizable(shape: &[usize]) -> bool {
    shape.last().is_some_and(|k| k % 32 == 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
