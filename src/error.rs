//! The one error type of the library.
//!
//! Every message names what was being checked, then what was expected and what came instead, so
//! that a player engineer can fix the page, the event or the model file from the message alone.

/// Errors returned by homerank.
///
/// Variants are grouped by the stage that raises them. [`Error::code`] gives a stable,
/// machine-readable code (used as the `code` of the JS `Error`).
#[derive(thiserror::Error)]
pub enum Error {
    // === Input (page and event) errors ===
    /// The page or event JSON could not be parsed at all.
    #[error("invalid {what} JSON: {message}")]
    Json { what: &'static str, message: String },

    /// The page parsed but breaks the contract (`HomePage::validate`).
    #[error("invalid page: {0}")]
    InvalidPage(String),

    /// A session event breaks the contract.
    #[error("invalid event: {0}")]
    InvalidEvent(String),

    /// Rerank options that cannot be honoured.
    #[error("invalid options: {0}")]
    InvalidOptions(String),

    // === Model file errors ===
    /// The model bytes are not a readable GGUF file, or a tensor is missing or misshapen.
    #[error("invalid model file: {0}")]
    InvalidModel(String),

    /// A tensor the model's layout needs is not in the weights.
    #[error("invalid model file: tensor '{0}' is missing")]
    MissingTensor(String),

    /// A tensor has another shape than the model's layout gives it.
    #[error("invalid model file: tensor '{name}' has shape {got:?}, expected {expected:?}")]
    TensorShape { name: String, expected: Vec<usize>, got: Vec<usize> },

    /// The file's checksum is not the one the manifest (or the file itself) promises.
    #[error("model checksum mismatch: expected sha256 {expected}, got {actual}")]
    Checksum { expected: String, actual: String },

    /// The file was written for another feature schema than this build understands.
    #[error("model feature schema {found} is not supported by this build (supports {supported})")]
    UnsupportedSchema { found: u32, supported: u32 },

    /// The page's embedding dimension differs from the model's.
    #[error("embedding dimension mismatch: the model expects {expected} values per embedding, {context} has {got}")]
    EmbeddingDim { expected: usize, got: usize, context: String },

    // === Compute errors ===
    /// The forward pass failed inside the tensor library.
    #[error("model forward failed: {0}")]
    Forward(String),

    /// A feature's lookup index is beyond its table (features built by hand, not by `Features::from_page`).
    #[error("model forward failed: {table} index {index} out of range for a table of {rows} rows")]
    FeatureIndex { table: &'static str, index: u32, rows: usize },

    /// The forward produced a non-finite score.
    #[error("model produced a non-finite score for item '{0}'")]
    NonFiniteScore(String),

    /// A GPU backend error (no adapter, device lost, validation error, readback failure).
    #[error("gpu backend: {0}")]
    Gpu(String),

    // === Environment ===
    /// Reading or writing a file (CLI, training) failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },

    /// A part of the library that this build was compiled without.
    #[error("{0} is not enabled in this build of homerank")]
    NotEnabled(&'static str),
}

impl Error {
    /// A stable code for programmatic handling, e.g. `"INVALID_PAGE"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Json { .. } => "INVALID_JSON",
            Error::InvalidPage(_) => "INVALID_PAGE",
            Error::InvalidEvent(_) => "INVALID_EVENT",
            Error::InvalidOptions(_) => "INVALID_OPTIONS",
            Error::InvalidModel(_) | Error::MissingTensor(_) | Error::TensorShape { .. } => "INVALID_MODEL",
            Error::Checksum { .. } => "MODEL_CHECKSUM",
            Error::UnsupportedSchema { .. } => "MODEL_SCHEMA",
            Error::EmbeddingDim { .. } => "EMBEDDING_DIM",
            Error::Forward(_) | Error::FeatureIndex { .. } => "FORWARD",
            Error::NonFiniteScore(_) => "NON_FINITE_SCORE",
            Error::Gpu(_) => "GPU",
            Error::Io { .. } => "IO",
            Error::NotEnabled(_) => "NOT_ENABLED",
        }
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn io(path: impl AsRef<std::path::Path>, err: impl std::fmt::Display) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), message: err.to_string() }
    }
}

// `unwrap()` and `main` print the readable message rather than the variant structure.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

#[cfg(feature = "candle")]
impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Forward(e.to_string())
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;
