//! The manifest of a prepared directory (`prep.json`): counts, window cuts and every table's
//! shards with their SHA-256. Plain data, in every build.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One shard file of a table, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// The file, relative to the prepared directory.
    pub path: String,
    /// Rows in it.
    pub rows: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// A written table: its shards in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFiles {
    /// The table's name (its directory).
    pub name: String,
    /// Rows over all shards.
    pub rows: u64,
    /// The shards, in row order.
    pub shards: Vec<Shard>,
}

/// Version of the prepared directory's layout.
pub const PREP_FORMAT: u32 = 1;
/// The manifest's file name in a prepared directory.
pub const MANIFEST: &str = "prep.json";

/// What `homerank prepare` wrote: counts, the window cuts, and every table's shards with their
/// hashes. Two preparations of one log agree when their [`PrepManifest::content`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepManifest {
    /// [`PREP_FORMAT`].
    pub format: u32,
    /// The log, as given.
    pub log: String,
    /// The engine that ran the plans (`local`, `ballista://…`).
    pub engine: String,
    /// Events, sessions and items of the log.
    pub events: u64,
    /// Sessions of the log.
    pub sessions: u64,
    /// Distinct items of the log.
    pub items: u64,
    /// First time ranks of the training, validation and test windows.
    pub cuts: [u64; 3],
    /// Start of "recent" popularity in histories A and B (ms).
    pub recent_from: [f64; 2],
    /// Neighbours kept per item.
    pub neighbors: usize,
    /// The tables, in the order they were written.
    pub tables: Vec<TableFiles>,
    /// Passes over ranges of sessions that the `sessions` and `events` plans ran in
    /// (`Engine::sessions_per_pass`).
    #[serde(default)]
    pub passes: u64,
    /// Wall-clock seconds of the whole preparation.
    pub seconds: f64,
}

impl PrepManifest {
    /// Reads `dir/prep.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let m: PrepManifest = serde_json::from_str(&text).map_err(|e| Error::io(&path, e.to_string()))?;
        if m.format != PREP_FORMAT {
            return Err(Error::io(&path, format!("prepared format {}, this build reads {PREP_FORMAT}", m.format)));
        }
        Ok(m)
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Result<&TableFiles> {
        self.tables.iter().find(|t| t.name == name).ok_or_else(|| Error::io(MANIFEST, format!("no table '{name}'")))
    }

    /// Every shard's path and hash, with the counts and cuts: what must match between engines.
    pub fn content(&self) -> String {
        let mut s = format!(
            "events {} sessions {} items {} cuts {:?} recent {:?} neighbors {}\n",
            self.events, self.sessions, self.items, self.cuts, self.recent_from, self.neighbors
        );
        for t in &self.tables {
            for shard in &t.shards {
                s += &format!("{} {} {}\n", shard.path, shard.rows, shard.sha256);
            }
        }
        s
    }
}
