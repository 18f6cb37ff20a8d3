//! Where the preparation plans run: DataFusion in this process (`local`, the default), or a
//! Ballista cluster (`ballista://HOST:PORT`) that receives the same logical plans.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Memory DataFusion may hold for sorts, joins and aggregations before it spills to disk
/// (local engine), at least; what bounds the sorts' and aggregations' memory as logs grow. A
/// million simulator events already spill within it.
pub const DEFAULT_MEMORY_LIMIT: usize = 128 << 20;

/// The default pool's share per partition, where there are more than two: each partition's
/// sorts reserve room to merge what they spilled (10 MiB each by DataFusion's default), so a
/// fixed pool that serves two partitions would fail with sixteen.
pub const MEMORY_PER_PARTITION: usize = 64 << 20;

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
