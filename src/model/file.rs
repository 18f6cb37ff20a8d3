//! The model file: GGUF with HR-S metadata.
//!
//! Metadata keys: `general.architecture` = `homerank-s`, `general.name`, `homerank.*` for every
//! [`HrsConfig`] field, and `homerank.file_sha256`: the SHA-256 of the whole file with this very
//! value written as 64 zeros, so a file damaged anywhere — header or weights — is refused even
//! without a manifest. (Files of the first release carry `homerank.data_sha256`, the hash of the
//! tensor data section only; they still load.) Matmul weights are Q8_0 or f32 with shape
//! `[out, in]`; every other tensor is f32.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::config::{HrsConfig, TensorKind};
use super::gguf::{self, TensorOut, TensorType, Value};
use super::layout::{check_shape, missing};
use super::quant::{dequantize_q8_0, quantize_q8_0, BLOCK_BYTES};
use super::Precision;
use crate::error::{Error, Result};

/// Value of `general.architecture`.
pub const ARCHITECTURE: &str = "homerank-s";
const FILE_SHA_KEY: &str = "homerank.file_sha256";
const LEGACY_DATA_SHA_KEY: &str = "homerank.data_sha256";
/// Stand-in for the data checksum while the file is first laid out (same length as the hex digest).
const SHA_PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One tensor as stored: element type, shape (outermost first) and raw little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// How `data` encodes the values: f32 or Q8_0.
    pub dtype: TensorType,
    /// Dims, outermost first (`[out, in]` for matmul weights).
    pub shape: Vec<usize>,
    /// The values: 4 bytes each for f32, 34-byte blocks of 32 values for Q8_0.
    pub data: Vec<u8>,
}

impl RawTensor {
    /// The first value that is NaN or infinite, if any — without dequantizing: a Q8_0 value is
    /// its block's (f16) scale times an integer, so it is non-finite exactly when the scale is.
    pub fn first_non_finite(&self) -> Option<f32> {
        match self.dtype {
            TensorType::F32 => self
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .find(|v| !v.is_finite()),
            TensorType::Q8_0 => self.data.chunks_exact(BLOCK_BYTES).find_map(|block| {
                let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
                (!d.is_finite()).then(|| block[2] as i8 as f32 * d)
            }),
        }
    }

    /// The values as f32 (Q8_0 dequantized).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            TensorType::F32 => {
                self.data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
            }
            TensorType::Q8_0 => dequantize_q8_0(&self.data),
        }
    }
}

/// A parsed and checked model file.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The architecture read from the `homerank.*` metadata, already validated.
    pub config: HrsConfig,
    /// `general.name`, e.g. `homerank-s`.
    pub name: String,
    /// `name@sha256:<first 12 hex digits of the file's SHA-256>`.
    pub model_id: String,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Matmul weight format in the file.
    pub precision: Precision,
    /// Every tensor the layout needs, by name, each checked for shape, type and finite values.
    pub tensors: HashMap<String, RawTensor>,
    /// String metadata under `homerank.` other than the checksum (`homerank.trained_on`, …).
    pub notes: Vec<(String, String)>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl ModelFile {
    /// Parses and checks a model file: GGUF structure, architecture, dimensions, schema, the data
    /// checksum, and every tensor's presence, shape, type and finiteness.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes, None)
    }

    /// [`ModelFile::from_bytes`] of a file whose whole-file SHA-256 the caller has already checked
    /// against a trusted value (a manifest's, `sha256` in hex): that covers every byte, so the
    /// embedded checksum is not recomputed and `sha256` is taken as the file's — the bytes are not
    /// hashed again (each hash of a 290 KB file is milliseconds of a cold start in wasm).
    pub fn from_checked_bytes(bytes: &[u8], sha256: &str) -> Result<Self> {
        Self::parse(bytes, Some(sha256.trim().to_ascii_lowercase()))
    }

    fn parse(bytes: &[u8], checked_sha256: Option<String>) -> Result<Self> {
        let bad = |m: String| Error::InvalidModel(m);
        let file = gguf::parse(bytes)?;
        let md = &file.metadata;
        let string = |key: &str| -> Result<String> {
            match md.get(key) {
                Some(Value::Str(s)) => Ok(s.clone()),
                Some(other) => Err(bad(format!("metadata '{key}' is {other:?}, expected a string"))),
                None => Err(bad(format!("metadata '{key}' is missing"))),
            }
        };
        let uint = |key: &str| -> Result<usize> {
            let v = md.get(key).ok_or_else(|| bad(format!("metadata '{key}' is missing")))?;
            v.as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| bad(format!("metadata '{key}' is {v:?}, expected an unsigned integer")))
        };
        let arch = string("general.architecture")?;
        if arch != ARCHITECTURE {
            return Err(bad(format!("architecture is '{arch}', expected '{ARCHITECTURE}'")));
        }
        let ln_eps = md
            .get("homerank.ln_eps")
            .and_then(Value::as_f64)
            .ok_or_else(|| bad("metadata 'homerank.ln_eps' is missing".into()))?;
        let config = HrsConfig {
            d_model: uint("homerank.d_model")?,
            n_heads: uint("homerank.n_heads")?,
            d_ff: uint("homerank.d_ff")?,
            n_session_layers: uint("homerank.n_session_layers")?,
            n_cand_layers: uint("homerank.n_cand_layers")?,
            embedding_dim: uint("homerank.embedding_dim")?,
            max_events: uint("homerank.max_events")?,
            ln_eps,
            feature_schema: uint("homerank.feature_schema")? as u32,
        };
        config.validate()?;

        let embedded = match string(FILE_SHA_KEY) {
            Ok(expected) => Ok(expected),
            Err(_) => string(LEGACY_DATA_SHA_KEY).map_err(|_| bad(format!("metadata '{FILE_SHA_KEY}' is missing"))),
        };
        let embedded = embedded?;
        if checked_sha256.is_none() {
            let actual = match md.get(FILE_SHA_KEY) {
                Some(_) => sha256_hex(&with_placeholder(bytes, &embedded)),
                None => sha256_hex(&bytes[file.data_offset.min(bytes.len())..]),
            };
            if actual != embedded {
                return Err(Error::Checksum { expected: embedded, actual });
            }
        }

        let mut tensors = HashMap::new();
        let mut precision = Precision::F32;
        for spec in config.tensor_specs() {
            let t = file.tensors.get(&spec.name).ok_or_else(|| missing(&spec.name))?;
            let allowed = match spec.kind {
                TensorKind::Matmul => true,
                TensorKind::Plain => t.dtype == TensorType::F32,
            };
            if !allowed {
                return Err(bad(format!("tensor '{}' is stored as {:?}, expected F32", spec.name, t.dtype)));
            }
            check_shape(&spec.name, &t.shape, &spec.shape)?;
            if t.dtype == TensorType::Q8_0 {
                precision = Precision::Q8_0;
            }
            let raw = RawTensor { dtype: t.dtype, shape: t.shape.clone(), data: t.data.to_vec() };
            if let Some(v) = raw.first_non_finite() {
                return Err(bad(format!("tensor '{}' holds a non-finite value {v}", spec.name)));
            }
            tensors.insert(spec.name, raw);
        }

        let name = string("general.name").unwrap_or_else(|_| ARCHITECTURE.to_owned());
        let sha256 = checked_sha256.unwrap_or_else(|| sha256_hex(bytes));
        let mut notes: Vec<(String, String)> = md
            .iter()
            .filter(|(k, _)| {
                k.starts_with("homerank.") && k.as_str() != FILE_SHA_KEY && k.as_str() != LEGACY_DATA_SHA_KEY
            })
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect();
        notes.sort();
        Ok(ModelFile {
            model_id: format!("{name}@sha256:{}", &sha256[..12]),
            name,
            sha256,
            precision,
            config,
            tensors,
            notes,
        })
    }
}

/// The tensor `name` of a file's tensors, checked against the `shape` the layout expects: what
/// the CPU and GPU engines load through.
pub(crate) fn checked_tensor<'a>(
    tensors: &'a HashMap<String, RawTensor>,
    name: &str,
    shape: &[usize],
) -> Result<&'a RawTensor> {
    let t = tensors.get(name).ok_or_else(|| missing(name))?;
    check_shape(name, &t.shape, shape)?;
    Ok(t)
}

/// Q8_0 quantizes rows in blocks of 32 values; narrower rows stay f32.
pub(crate) fn quantizable(shape: &[usize]) -> bool {
    shape.last().is_some_and(|k| k % 32 == 0)
}

/// Checks f32 values against `config` (names, counts, finiteness) and encodes them as file
/// tensors: matmul weights in `precision` (rows narrower than a Q8_0 block stay f32), the rest f32.
pub fn encode_tensors(
    config: &HrsConfig,
    weights: &HashMap<String, Vec<f32>>,
    precision: Precision,
) -> Result<HashMap<String, RawTensor>> {
    config.validate()?;
    let mut out = HashMap::new();
    for spec in config.tensor_specs() {
        let values = weights.get(&spec.name).ok_or_else(|| missing(&spec.name))?;
        let want: usize = spec.shape.iter().product();
        if values.len() != want {
            return Err(Error::InvalidModel(format!(
                "tensor '{}' has {} values, expected {want} for shape {:?}",
                spec.name,
                values.len(),
                spec.shape
            )));
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidModel(format!("tensor '{}' holds a non-finite value {v}", spec.name)));
        }
        let (dtype, data) = match (spec.kind, precision) {
            (TensorKind::Matmul, Precision::Q8_0) if quantizable(&spec.shape) => {
                (TensorType::Q8_0, quantize_q8_0(values))
            }
            _ => (TensorType::F32, values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        };
        out.insert(spec.name, RawTensor { dtype, shape: spec.shape, data });
    }
    Ok(out)
}

/// Writes a model file from f32 values (`config.tensor_specs()` names and shapes, row-major,
/// matmul weights `[out, in]`). `precision` picks the matmul weight format; `notes` become
/// `homerank.<key>` string metadata.
pub fn write_model(
    config: &HrsConfig,
    name: &str,
    weights: &HashMap<String, Vec<f32>>,
    precision: Precision,
    notes: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let tensors = encode_tensors(config, weights, precision)?;
    let u = |v: usize| Value::U32(v as u32);
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::Str(ARCHITECTURE.into())),
        ("general.name".into(), Value::Str(name.into())),
        ("homerank.d_model".into(), u(config.d_model)),
        ("homerank.n_heads".into(), u(config.n_heads)),
        ("homerank.d_ff".into(), u(config.d_ff)),
        ("homerank.n_session_layers".into(), u(config.n_session_layers)),
        ("homerank.n_cand_layers".into(), u(config.n_cand_layers)),
        ("homerank.embedding_dim".into(), u(config.embedding_dim)),
        ("homerank.max_events".into(), u(config.max_events)),
        ("homerank.ln_eps".into(), Value::F64(config.ln_eps)),
        ("homerank.feature_schema".into(), Value::U32(config.feature_schema)),
        (FILE_SHA_KEY.into(), Value::Str(SHA_PLACEHOLDER.into())),
    ];
    for (k, v) in notes {
        metadata.push((format!("homerank.{k}"), Value::Str((*v).to_owned())));
    }
    let md: Vec<(&str, Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let specs = config.tensor_specs();
    let out: Vec<TensorOut<'_>> = specs
        .iter()
        .map(|spec| {
            let t = &tensors[&spec.name];
            TensorOut { name: &spec.name, dtype: t.dtype, shape: &t.shape, data: &t.data }
        })
        .collect();
    let (mut bytes, _) = gguf::write(&md, &out);

    // The checksum covers the file as written with the placeholder; the digest has the
    // placeholder's length, so writing it moves nothing.
    let digest = sha256_hex(&bytes);
    let at = checksum_position(&bytes, SHA_PLACEHOLDER)
        .ok_or_else(|| Error::InvalidModel("checksum placeholder not found in the header".into()))?;
    bytes[at..at + digest.len()].copy_from_slice(digest.as_bytes());
    Ok(bytes)
}

/// Where the checksum value sits: right after the key, its value type and its length.
fn checksum_position(bytes: &[u8], value: &str) -> Option<usize> {
    let key = FILE_SHA_KEY.as_bytes();
    let at = bytes.windows(key.len()).position(|w| w == key)? + key.len() + 4 + 8;
    (bytes.get(at..at + value.len())? == value.as_bytes()).then_some(at)
}

/// `bytes` with the stored checksum value replaced by the placeholder (what was hashed).
fn with_placeholder(bytes: &[u8], stored: &str) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    if let Some(at) = checksum_position(bytes, stored) {
        copy[at..at + SHA_PLACEHOLDER.len()].copy_from_slice(SHA_PLACEHOLDER.as_bytes());
    }
    copy
}
