//! The model file: round trip, metadata, and refusal of damaged or foreign files.

mod common;

use common::{fixture_model_bytes, seeded_weights, FIXTURE_MODEL_NAME};
use homerank::model::{sha256_hex, write_model, HrsConfig, ModelFile, Precision};
use homerank::{HomeRanker, ManifestEntry};

#[test]
fn round_trip_keeps_config_name_and_precision() {
    let bytes = fixture_model_bytes(7, Precision::Q8_0);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    assert_eq!(file.config, HrsConfig::default());
    assert_eq!(file.name, FIXTURE_MODEL_NAME);
    assert_eq!(file.precision, Precision::Q8_0);
    assert_eq!(file.sha256, sha256_hex(&bytes));
    assert_eq!(file.model_id, format!("{FIXTURE_MODEL_NAME}@sha256:{}", &file.sha256[..12]));
    assert_eq!(file.notes, vec![("homerank.purpose".to_string(), "test fixture".to_string())]);
    // ~240k parameters: Q8_0 keeps the file under the 300 KB budget, f32 is ~4x larger.
    assert_eq!(HrsConfig::default().n_params(), 240_937);
    println!("Q8_0 file: {} bytes", bytes.len());
    assert!(bytes.len() < 300 * 1024, "{} bytes", bytes.len());
    let f32_bytes = fixture_model_bytes(7, Precision::F32);
    assert_eq!(ModelFile::from_bytes(&f32_bytes).unwrap().precision, Precision::F32);
    assert!(f32_bytes.len() > 900_000);
}

#[test]
fn writing_is_deterministic() {
    assert_eq!(fixture_model_bytes(3, Precision::Q8_0), fixture_model_bytes(3, Precision::Q8_0));
    assert_ne!(fixture_model_bytes(3, Precision::Q8_0), fixture_model_bytes(4, Precision::Q8_0));
}

fn load_err(bytes: &[u8]) -> homerank::Error {
    HomeRanker::from_bytes(bytes).expect_err("the file must be refused")
}

#[test]
fn damaged_files_are_refused_with_typed_errors() {
    let good = fixture_model_bytes(7, Precision::Q8_0);

    assert_eq!(load_err(&[]).code(), "INVALID_MODEL");
    assert_eq!(load_err(b"not a model at all").code(), "INVALID_MODEL");

    // Truncated anywhere: in the header, in the metadata, in the weights.
    for cut in [3, 40, 400, good.len() / 2, good.len() - 100] {
        let err = load_err(&good[..cut]);
        assert!(matches!(err.code(), "INVALID_MODEL" | "MODEL_CHECKSUM"), "cut {cut}: {err}");
    }

    // A flipped bit in the weights breaks the data checksum.
    let mut flipped = good.clone();
    let at = good.len() - 5000;
    flipped[at] ^= 0x10;
    let err = load_err(&flipped);
    assert_eq!(err.code(), "MODEL_CHECKSUM", "{err}");
    assert!(err.to_string().starts_with("model checksum mismatch: expected sha256 "), "{err}");
}

#[test]
fn foreign_architecture_schema_and_dims_are_refused() {
    let config = HrsConfig::default();
    let weights = seeded_weights(&config, 1);

    let future = HrsConfig { feature_schema: 99, ..config.clone() };
    let err = write_model(&future, "x", &weights, Precision::Q8_0, &[]).unwrap_err();
    assert_eq!(err.to_string(), "model feature schema 99 is not supported by this build (supports 3)");

    let mut bytes = write_model(&config, "x", &weights, Precision::Q8_0, &[]).unwrap();
    let pos = bytes.windows(10).position(|w| w == b"homerank-s").unwrap();
    bytes[pos..pos + 10].copy_from_slice(b"llama-xxxx");
    assert_eq!(load_err(&bytes).to_string(), "invalid model file: architecture is 'llama-xxxx', expected 'homerank-s'");

    // A tensor with the wrong shape for the declared dims.
    let mut wrong = weights.clone();
    wrong.insert("cand0.ffn.fc1.w".into(), vec![0.0; 128 * 64]);
    let err = write_model(&config, "x", &wrong, Precision::Q8_0, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model file: tensor 'cand0.ffn.fc1.w' has 8192 values, expected 16384 for shape [256, 64]"
    );
    let mut nan = weights.clone();
    nan.get_mut("head.ln.g").unwrap()[3] = f32::NAN;
    let err = write_model(&config, "x", &nan, Precision::Q8_0, &[]).unwrap_err();
    assert_eq!(err.to_string(), "invalid model file: tensor 'head.ln.g' holds a non-finite value NaN");
}

#[test]
fn manifest_entry_checks_checksum_schema_and_dims() {
    let bytes = fixture_model_bytes(7, Precision::Q8_0);
    let file = ModelFile::from_bytes(&bytes).unwrap();
    let entry = ManifestEntry::describe("fixture.gguf", &bytes, &file);
    HomeRanker::from_bytes_verified(&bytes, &entry).unwrap();

    let other = fixture_model_bytes(8, Precision::Q8_0);
    let err = HomeRanker::from_bytes_verified(&other, &entry).unwrap_err();
    assert_eq!(err.code(), "MODEL_CHECKSUM");

    let mut wrong_dim = entry.clone();
    wrong_dim.embedding_dim = 16;
    assert_eq!(HomeRanker::from_bytes_verified(&bytes, &wrong_dim).unwrap_err().code(), "EMBEDDING_DIM");
    let mut wrong_schema = entry.clone();
    wrong_schema.feature_schema = 1;
    assert_eq!(HomeRanker::from_bytes_verified(&bytes, &wrong_schema).unwrap_err().code(), "INVALID_MODEL");
}

/// A file already checked against a trusted whole-file SHA-256 (a manifest's, or the host's
/// WebCrypto digest in the npm package) is not hashed again: the same file comes out, with the
/// given checksum as its id; only the structural checks run.
#[test]
fn checked_bytes_parse_to_the_same_file_without_rehashing() {
    let bytes = fixture_model_bytes(11, Precision::Q8_0);
    let sha = sha256_hex(&bytes);
    let plain = ModelFile::from_bytes(&bytes).unwrap();
    let checked = ModelFile::from_checked_bytes(&bytes, &sha.to_uppercase()).unwrap();
    assert_eq!((checked.sha256.as_str(), checked.model_id.as_str()), (sha.as_str(), plain.model_id.as_str()));
    assert_eq!(checked.tensors, plain.tensors);
    // The embedded checksum is what `from_bytes` catches on its own; a structural defect is
    // still refused on the checked path.
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    assert_eq!(ModelFile::from_bytes(&damaged).unwrap_err().code(), "MODEL_CHECKSUM");
    let truncated = &bytes[..bytes.len() / 2];
    assert_eq!(ModelFile::from_checked_bytes(truncated, &sha256_hex(truncated)).unwrap_err().code(), "INVALID_MODEL");
}
