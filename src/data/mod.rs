//! Data adapters (native): real logs into a [`Dataset`]. Each reads its file line by line, except
//! the Spotify exports (JSON arrays, parsed a file at a time).
//!
//! | format | adapter | actions | item content |
//! |---|---|---|---|
//! | Spotify MSSD CSV (+ track features) | [`mssd`] | skip / complete | audio features |
//! | RecBole `.inter` (+ `.item`) | [`recbole`] | rating → complete / play / skip | genres, year |
//! | DIGINETICA CSV | [`diginetica`] | click | none |
//! | JSONL event log | [`jsonl`] | as logged | optional `features` |
//! | Parquet event log (a file, or a directory of files; feature `prep`) | `prep::log` | as logged | optional `features` |
//! | Spotify "Download your data" streaming history (a folder per listener) | [`spotify`] | basic: skip (< 30 s, a proxy) / complete; extended: skip / complete / play | none |

mod csv;
pub mod diginetica;
pub mod jsonl;
pub mod mssd;
pub mod recbole;
pub mod spotify;

use std::io::BufRead;
use std::path::Path;

pub use jsonl::write_jsonl;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Spotify Music Streaming Sessions Dataset CSV, with optional track features ([`mssd`]).
    Mssd,
    /// RecBole atomic files, `.inter` and optionally `.item` ([`recbole`]).
    RecBole,
    /// The DIGINETICA (CIKM Cup 2016) session CSV ([`diginetica`]); clicks only.
    Diginetica,
    /// A plain newline-delimited JSON event log, one event per line ([`jsonl`]).
    Jsonl,
    /// Spotify streaming-history exports: a directory of listener folders, or one listener's.
    SpotifyExports,
    /// The Parquet event log (`prep::log`): a `.parquet` file or a directory of them.
    Parquet,
}

/// Guesses the format: a directory holding a `.inter` file, or an `.inter` file, is RecBole; a
/// `.parquet` file, or a directory holding one, is [`Format::Parquet`]; a
/// directory whose sub-folders (or itself) hold Spotify streaming-history export files is
/// [`Format::SpotifyExports`]; `.jsonl` is JSONL; otherwise the first line decides
/// (`session_id,session_position…` → MSSD, `session_id;user_id;item_id…` → DIGINETICA, `{` →
/// JSONL).
pub fn detect(path: &Path) -> Result<Format> {
    if path.is_dir() {
        let has = |ext: &str| -> Result<bool> {
            Ok(std::fs::read_dir(path)
                .map_err(|e| Error::io(path, e))?
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == ext)))
        };
        if has("inter")? {
            return Ok(Format::RecBole);
        }
        if has("parquet")? {
            return Ok(Format::Parquet);
        }
        if spotify::is_export_dir(path)? {
            return Ok(Format::SpotifyExports);
        }
        return Err(Error::io(
            path,
            format!(
                "a directory with neither RecBole .inter files nor a Spotify export: {}",
                spotify::no_exports_message()
            ),
        ));
    }
    if path.extension().is_some_and(|e| e == "inter") {
        return Ok(Format::RecBole);
    }
    if path.file_name().and_then(|n| n.to_str()).is_some_and(spotify::is_export_file) {
        return Err(Error::io(
            path,
            "a Spotify streaming-history file: pass the folder holding it (one listener) or its parent (a folder per listener)",
        ));
    }
    if path.extension().is_some_and(|e| e == "jsonl") {
        return Ok(Format::Jsonl);
    }
    if path.extension().is_some_and(|e| e == "parquet") {
        return Ok(Format::Parquet);
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
        Format::SpotifyExports => spotify::load(path),
        Format::Parquet => crate::prep::load_log(path),
    }
}
