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
    #[error("invalid {what} JSON: {}", echo(message))]
    Json {
        /// What was being read: `"page"`, `"event"`, `"options"` or `"manifest"`.
        what: &'static str,
        /// The parser's message, with the line or path where it stopped.
        message: String,
    },

    /// The page parsed but breaks the contract (`HomePage::validate`).
    #[error("invalid page: {}", echo(.0))]
    InvalidPage(String),

    /// A session event breaks the contract.
    #[error("invalid event: {}", echo(.0))]
    InvalidEvent(String),

    /// Rerank options that cannot be honoured.
    #[error("invalid options: {}", echo(.0))]
    InvalidOptions(String),

    /// An experiment that cannot be run: its JSON, or a value `Experiment::validate` refuses.
    #[error("invalid experiment: {}", echo(.0))]
    InvalidExperiment(String),

    /// Bytes that are not a usable mid-term profile (`profile`): foreign, corrupt, another
    /// format version or embedding width. The host drops them; ranking goes on without.
    #[error("invalid mid-term profile: {}", echo(.0))]
    InvalidProfile(String),

    // === Model file errors ===
    /// The model bytes are not a readable GGUF file, or a tensor is missing or misshapen.
    #[error("invalid model file: {}", echo(.0))]
    InvalidModel(String),

    /// A tensor the model's layout needs is not in the weights.
    #[error("invalid model file: tensor '{}' is missing", cap(.0))]
    MissingTensor(String),

    /// A tensor has another shape than the model's layout gives it.
    #[error("invalid model file: tensor '{}' has shape {got:?}, expected {expected:?}", cap(name))]
    TensorShape {
        /// The tensor's name in the file, e.g. `"sim.mean"`.
        name: String,
        /// The dims the layout gives it.
        expected: Vec<usize>,
        /// The dims the file has.
        got: Vec<usize>,
    },

    /// The file's checksum is not the one the manifest (or the file itself) promises.
    #[error("model checksum mismatch: expected sha256 {}, got {actual}", cap(expected))]
    Checksum {
        /// The promised SHA-256, as written in the manifest or the file's metadata (hex).
        expected: String,
        /// The SHA-256 of the bytes at hand, lowercase hex.
        actual: String,
    },

    /// The file was written for another feature schema than this build understands.
    #[error("model feature schema {found} is not supported by this build (supports {supported})")]
    UnsupportedSchema {
        /// The schema version written in the file.
        found: u32,
        /// The one schema version this build reads.
        supported: u32,
    },

    /// The page's embedding dimension differs from the model's.
    #[error(
        "embedding dimension mismatch: the model expects {expected} values per embedding, {} has {got}",
        echo(context)
    )]
    EmbeddingDim {
        /// Values per embedding the model (or the manifest) expects.
        expected: usize,
        /// Values found.
        got: usize,
        /// Where the mismatch is: the page's `embeddingDim`, an item, an event or a model file.
        context: String,
    },

    // === Compute errors ===
    /// The forward pass failed inside the tensor library.
    #[error("model forward failed: {}", echo(.0))]
    Forward(String),

    /// A feature's lookup index is beyond its table (features built by hand, not by `Features::from_page`).
    #[error("model forward failed: {table} index {index} out of range for a table of {rows} rows")]
    FeatureIndex {
        /// The lookup table: `"action"`, `"dwell"`, `"recency"`, `"type"`, `"rank"` or `"shelf"`.
        table: &'static str,
        /// The offending index.
        index: u32,
        /// The table's size; valid indices are `0..rows`.
        rows: usize,
    },

    /// The forward produced a non-finite score.
    #[error("model produced a non-finite score for item '{}'", cap(.0))]
    NonFiniteScore(String),

    /// A GPU backend error (no adapter, device lost, validation error, readback failure).
    #[error("gpu backend: {}", echo(.0))]
    Gpu(String),

    // === Environment ===
    /// Reading or writing a file (CLI, training) failed.
    #[error("{}: {}", cap(path), echo(message))]
    Io {
        /// The file (or directory) being read or written.
        path: String,
        /// The operating system's or the parser's message, with the line number where there is one.
        message: String,
    },

    /// A part of the library that this build was compiled without.
    #[error("{0} is not enabled in this build of homerank")]
    NotEnabled(&'static str),

    // === The JS boundary (the npm package) ===
    /// An argument of the wrong type or value (a non-string id, an unknown item of the simulator).
    #[error("invalid argument: {}", echo(.0))]
    InvalidArgument(String),

    /// A call on a ranker (or simulator) after its `free()`.
    #[error("this {0} was freed; load a new one")]
    Freed(&'static str),

    /// The ranker is borrowed by a call that has not returned.
    #[error("the ranker is in use by a call that has not returned")]
    Busy,

    /// The worker of `homerank/worker` failed, was terminated or could not be reached.
    #[error("homerank worker: {}", echo(.0))]
    Worker(String),

    /// The worker was asked for something before a model was loaded there.
    #[error("homerank worker: no model is loaded")]
    NotLoaded,

    /// The wasm module could not be fetched or instantiated.
    #[error("could not load the wasm module: {}", echo(.0))]
    Load(String),

    /// A failure that is a bug in homerank (a trap in the wasm module, an unexpected exception).
    #[error("internal error: {}", echo(.0))]
    Internal(String),
}

impl Error {
    /// A stable code for programmatic handling, e.g. `"INVALID_PAGE"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Json { .. } => "INVALID_JSON",
            Error::InvalidPage(_) => "INVALID_PAGE",
            Error::InvalidEvent(_) => "INVALID_EVENT",
            Error::InvalidOptions(_) => "INVALID_OPTIONS",
            Error::InvalidExperiment(_) => "INVALID_EXPERIMENT",
            Error::InvalidProfile(_) => "INVALID_PROFILE",
            Error::InvalidModel(_) | Error::MissingTensor(_) | Error::TensorShape { .. } => "INVALID_MODEL",
            Error::Checksum { .. } => "MODEL_CHECKSUM",
            Error::UnsupportedSchema { .. } => "MODEL_SCHEMA",
            Error::EmbeddingDim { .. } => "EMBEDDING_DIM",
            Error::Forward(_) | Error::FeatureIndex { .. } => "FORWARD",
            Error::NonFiniteScore(_) => "NON_FINITE_SCORE",
            Error::Gpu(_) => "GPU",
            Error::Io { .. } => "IO",
            Error::NotEnabled(_) => "NOT_ENABLED",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Freed(_) => "FREED",
            Error::Busy => "BUSY",
            Error::Worker(_) => "WORKER",
            Error::NotLoaded => "NOT_LOADED",
            Error::Load(_) => "LOAD",
            Error::Internal(_) => "INTERNAL",
        }
    }

    /// Every value [`Error::code`] can return, in declaration order. The npm package's
    /// `ErrorCode` union (src/wasm/contract.d.ts) lists the same codes; tests/boundary.rs checks.
    pub const CODES: &'static [&'static str] = &[
        "INVALID_JSON",
        "INVALID_PAGE",
        "INVALID_EVENT",
        "INVALID_OPTIONS",
        "INVALID_EXPERIMENT",
        "INVALID_PROFILE",
        "INVALID_MODEL",
        "MODEL_CHECKSUM",
        "MODEL_SCHEMA",
        "EMBEDDING_DIM",
        "FORWARD",
        "NON_FINITE_SCORE",
        "GPU",
        "IO",
        "NOT_ENABLED",
        "INVALID_ARGUMENT",
        "FREED",
        "BUSY",
        "WORKER",
        "NOT_LOADED",
        "LOAD",
        "INTERNAL",
    ];

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

/// Longest echo of a bad value in a message, in characters; longer values are shown as a prefix
/// and their length.
pub const ECHO_CHARS: usize = 96;
/// Longest message, in bytes, before its middle is cut (whatever it echoes).
pub const MAX_MESSAGE_BYTES: usize = 2_048;

/// A value echoed in a message: itself when short, else its first characters and its length.
pub fn cap(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(ECHO_CHARS) {
        None => value.into(),
        Some(_) => {
            let head: String = value.chars().take(ECHO_CHARS / 2).collect();
            format!("{head}… ({} bytes)", value.len()).into()
        }
    }
}

/// A message with the values it quotes capped: every quoted run (`'…'`, `"…"` or `` `…` ``, the
/// opening quote at the start, after a space or a bracket) longer than [`ECHO_CHARS`] becomes
/// its prefix and its length; a message still longer than [`MAX_MESSAGE_BYTES`] keeps its start
/// and its end (where the reason is) around a note of how much was cut.
pub fn echo(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= ECHO_CHARS {
        return message.into();
    }
    let mut out = String::new();
    let mut rest = message;
    let mut changed = false;
    while let Some((open, q)) = find_opening_quote(rest) {
        let body_start = open + q.len_utf8();
        let body_len = find_closing_quote(&rest[body_start..], q).unwrap_or(rest.len() - body_start);
        let body = &rest[body_start..body_start + body_len];
        out.push_str(&rest[..body_start]);
        if body.char_indices().nth(ECHO_CHARS).is_some() {
            out.push_str(&cap(body));
            changed = true;
        } else {
            out.push_str(body);
        }
        rest = &rest[body_start + body_len..];
        // The closing quote, when there is one.
        if let Some(c) = rest.chars().next().filter(|&c| c == q) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    if out.len() <= MAX_MESSAGE_BYTES {
        return if changed { out.into() } else { message.into() };
    }
    let head_end = floor_char_boundary(&out, MAX_MESSAGE_BYTES * 3 / 4);
    let tail_start = ceil_char_boundary(&out, out.len() - MAX_MESSAGE_BYTES / 4);
    format!("{} … ({} bytes cut) … {}", &out[..head_end], tail_start - head_end, &out[tail_start..]).into()
}

fn find_opening_quote(s: &str) -> Option<(usize, char)> {
    let mut prev: Option<char> = None;
    for (i, c) in s.char_indices() {
        if matches!(c, '\'' | '"' | '`')
            && prev.is_none_or(|p| p.is_whitespace() || matches!(p, '(' | '[' | '{' | ':' | '='))
        {
            return Some((i, c));
        }
        prev = Some(c);
    }
    None
}

/// Where the quoted run ends: a `q` followed by the end, a space or punctuation.
fn find_closing_quote(s: &str, q: char) -> Option<usize> {
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == q
            && it.peek().is_none_or(|&(_, n)| n.is_whitespace() || matches!(n, ')' | ']' | '}' | ':' | ',' | '.' | ';'))
        {
            return Some(i);
        }
    }
    None
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant. The match below is exhaustive, so a new variant fails to compile
    /// until it is added here (and its code to [`Error::CODES`]).
    fn one_of_each() -> Vec<Error> {
        let all = vec![
            Error::Json { what: "page", message: String::new() },
            Error::InvalidPage(String::new()),
            Error::InvalidEvent(String::new()),
            Error::InvalidOptions(String::new()),
            Error::InvalidExperiment(String::new()),
            Error::InvalidProfile(String::new()),
            Error::InvalidModel(String::new()),
            Error::MissingTensor(String::new()),
            Error::TensorShape { name: String::new(), expected: vec![], got: vec![] },
            Error::Checksum { expected: String::new(), actual: String::new() },
            Error::UnsupportedSchema { found: 0, supported: 0 },
            Error::EmbeddingDim { expected: 0, got: 0, context: String::new() },
            Error::Forward(String::new()),
            Error::FeatureIndex { table: "", index: 0, rows: 0 },
            Error::NonFiniteScore(String::new()),
            Error::Gpu(String::new()),
            Error::Io { path: String::new(), message: String::new() },
            Error::NotEnabled(""),
            Error::InvalidArgument(String::new()),
            Error::Freed("ranker"),
            Error::Busy,
            Error::Worker(String::new()),
            Error::NotLoaded,
            Error::Load(String::new()),
            Error::Internal(String::new()),
        ];
        for e in &all {
            match e {
                Error::Json { .. }
                | Error::InvalidPage(_)
                | Error::InvalidEvent(_)
                | Error::InvalidOptions(_)
                | Error::InvalidExperiment(_)
                | Error::InvalidProfile(_)
                | Error::InvalidModel(_)
                | Error::MissingTensor(_)
                | Error::TensorShape { .. }
                | Error::Checksum { .. }
                | Error::UnsupportedSchema { .. }
                | Error::EmbeddingDim { .. }
                | Error::Forward(_)
                | Error::FeatureIndex { .. }
                | Error::NonFiniteScore(_)
                | Error::Gpu(_)
                | Error::Io { .. }
                | Error::NotEnabled(_)
                | Error::InvalidArgument(_)
                | Error::Freed(_)
                | Error::Busy
                | Error::Worker(_)
                | Error::NotLoaded
                | Error::Load(_)
                | Error::Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn codes_lists_every_code_once() {
        let produced: Vec<&str> = one_of_each().iter().map(Error::code).collect();
        for code in &produced {
            assert!(Error::CODES.contains(code), "{code} is not in Error::CODES");
        }
        for code in Error::CODES {
            assert!(produced.contains(code), "{code} in Error::CODES comes from no variant");
            assert_eq!(Error::CODES.iter().filter(|c| *c == code).count(), 1, "{code} twice");
        }
    }

    #[test]
    fn echoes_are_capped() {
        let long = "x".repeat(1_000_000);
        let e = Error::InvalidPage(format!(
            "shelf 0 ('a') item 3 ('{long}'): id is {} bytes long, at most 512",
            long.len()
        ));
        let text = e.to_string();
        assert!(text.len() < 400, "{}", text.len());
        assert!(
            text.contains("… (1000000 bytes)'): ") && text.ends_with("id is 1000000 bytes long, at most 512"),
            "{text}"
        );
        // Short values and apostrophes in prose are left alone.
        let e = Error::InvalidPage("the page's shelf 'a': it's fine".into());
        assert_eq!(e.to_string(), "invalid page: the page's shelf 'a': it's fine");
        // A value without quotes: the start and the end of the message are kept.
        let text = Error::Forward(long.clone()).to_string();
        assert!(text.len() <= MAX_MESSAGE_BYTES + 64 && text.contains("bytes cut"), "{}", text.len());
        assert_eq!(
            Error::Checksum { expected: long, actual: "ab".into() }.to_string(),
            format!("model checksum mismatch: expected sha256 {}… (1000000 bytes), got ab", "x".repeat(48))
        );
    }
}
