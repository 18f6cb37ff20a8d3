//! Data adapters (native): real logs into a [`Dataset`]. Each reads its file line by line.
//!
//! | format | adapter | actions | item content |
//! |---|---|---|---|
//! | Spotify MSSD CSV (+ track features) | [`mssd`] | skip / complete | audio features |
//! | RecBole `.inter` (+ `.item`) | [`recbole`] | rating → complete / play / skip | genres, year |
//! | DIGINETICA CSV | [`diginetica`] | click | none |
//! | JSONL event log | [`jsonl`] | as logged | optional `features` |

mod csv;
pub mod diginetica;
pub mod jsonl;
pub mod mssd;
pub mod recbole;

use std::io::BufRead;
use std::path::Path;

pub use jsonl::write_jsonl;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mssd,
    RecBole,
    Diginetica,
    Jsonl,
}

/// Guesses the format: a directory or `.inter` file is RecBole, `.jsonl` is JSONL; otherwise the
/// first line decides (`session_id,session_position…` → MSSD, `session_id;user_id;item_id…` →
/// DIGINETICA, `{` → JSONL).
pub fn detect(path: &Path) -> Result<Format> {
    if path.is_dir() || path.extension().is_some_and(|e| e == "inter") {
        return Ok(Format::RecBole);
    }
    if path.extension().is_some_and(|e| e == "jsonl") {
        return Ok(Format::Jsonl);
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).map_err(|e| Error::io(path, e))?;
    let first = first.trim_start_matches('\u{feff}');
    if first.starts_with("session_id,session_position") || first.contains("track_id_clean") {
        Ok(Format::Mssd)
    } else if first.starts_with("session_id;user_id;item_id") {
        Ok(Format::Diginetica)
    } else if first.trim_start().starts_with('{') {
        Ok(Format::Jsonl)
    } else {
        Err(Error::io(path, "unknown log format (expected MSSD CSV, RecBole .inter, DIGINETICA CSV or JSONL)"))
    }
}

/// Loads a log; `format` is detected when `None`; `features` is the MSSD track-features file.
pub fn load(path: &Path, format: Option<Format>, features: Option<&Path>) -> Result<Dataset> {
    match format.map_or_else(|| detect(path), Ok)? {
        Format::Mssd => mssd::load(path, features),
        Format::RecBole => recbole::load(path),
        Format::Diginetica => diginetica::load(path),
        Format::Jsonl => jsonl::load(path),
    }
}
