//! Where the preparation plans run: DataFusion in this process (`local`, the default), or a
//! Ballista cluster (`ballista://HOST:PORT`) that receives the same logical plans.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Memory DataFusion may hold for sorts, joins and aggregations before it spills to disk
/// (local engine), at least. What bounds preparation's memory as logs grow, so it is small
/// enough that a million simulator events already fill it (their pair counts spill): a pool
/// that only large logs fill makes the peak grow with the log until they do (at 128 MiB,
/// `bench/prep.sh` at 6510ea1 measured 189 MiB at 1M events and 336 MiB at 10M).
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;

/// The default pool's share per partition, where there are more than two: each partition's
/// sorts reserve room to merge what they spilled (10 MiB each by DataFusion's default), so a
/// fixed pool that serves two partitions would fail with sixteen.
pub const MEMORY_PER_PARTITION: usize = 32 << 20;

/// What one session holds in the hash table of a join on sessions: its id, numbers and the
/// table's entry (about 130 bytes on simulator logs; a join's table cannot spill).
const JOIN_BYTES_PER_SESSION: usize = 130;

/// What one event holds in the sort of a pass of `events` (its columns, and their row-format
/// copy that the sort compares).
const SORT_BYTES_PER_EVENT: usize = 64;

/// The pool's shares a pass may take: a 16th for its join's sessions, half for its sort's
/// events; the rest stays with the plan's other operators and the merge of the passes.
const JOIN_PASS_SHARE: usize = 16;
const SORT_PASS_SHARE: usize = 2;

/// An execution engine for `homerank prepare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// DataFusion embedded in this process: nothing to install.
    Local {
        /// Bytes of operator memory before spilling ([`Engine::local`]'s default).
        memory_limit: usize,
        /// Partitions a plan runs in parallel (the machine's cores by default).
        partitions: usize,
    },
    /// A Ballista scheduler at `host:port`; its executors must see the log's path.
    Ballista {
        /// The scheduler's host name or address.
        host: String,
        /// The scheduler's gRPC port.
        port: u16,
    },
}

impl Engine {
    /// The local engine on every core, with the default memory limit: [`DEFAULT_MEMORY_LIMIT`]
    /// or [`MEMORY_PER_PARTITION`] a core, whichever is more.
    pub fn local() -> Self {
        let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
        Engine::Local { memory_limit: DEFAULT_MEMORY_LIMIT.max(partitions * MEMORY_PER_PARTITION), partitions }
    }

    /// Sessions per pass of the plans that run in passes of sessions (`plans::KeyRange`), for
    /// a log of `sessions` and `events`: as many as a 16th of the pool holds in a join at
    /// [`JOIN_BYTES_PER_SESSION`], and whose events (at the log's mean) half the pool holds in
    /// a sort at [`SORT_BYTES_PER_EVENT`]. In the default 64 MiB pool: about half a million
    /// events a pass. A Ballista cluster's executors size their own pools; its passes are the
    /// default pool's.
    pub fn sessions_per_pass(&self, sessions: u64, events: u64) -> u64 {
        let pool = match self {
            Engine::Local { memory_limit, .. } => *memory_limit,
            Engine::Ballista { .. } => DEFAULT_MEMORY_LIMIT,
        } as u64;
        let by_join = pool / (JOIN_PASS_SHARE * JOIN_BYTES_PER_SESSION) as u64;
        let by_sort =
            (pool / (SORT_PASS_SHARE * SORT_BYTES_PER_EVENT) as u64) as u128 * sessions as u128 / events.max(1) as u128;
        by_join.min(by_sort as u64).max(1)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local { .. } => f.write_str("local"),
            Engine::Ballista { host, port } => write!(f, "ballista://{host}:{port}"),
        }
    }
}

impl FromStr for Engine {
    type Err = Error;

    /// `local`, or `ballista://HOST:PORT`.
    fn from_str(s: &str) -> Result<Self> {
        if s == "local" {
            return Ok(Engine::local());
        }
        let bad = || Error::InvalidArgument(format!("engine '{s}': expected 'local' or 'ballista://HOST:PORT'"));
        let rest = s.strip_prefix("ballista://").ok_or_else(bad)?;
        let (host, port) = rest.trim_end_matches('/').rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Engine::Ballista { host: host.to_owned(), port: port.parse().map_err(|_| bad())? })
    }
}
