//! Which engine scores a page: the CPU engine (`model::cpu`), or HR-S on the GPU (`gpu`, with
//! the `gpu` feature), and how `auto` picks between them.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The backend setting of a [`crate::HomeRanker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The GPU where one is attached and measured faster for pages of this size, else the CPU.
    #[default]
    Auto,
    /// Always the CPU.
    Cpu,
    /// The GPU; a call whose GPU forward fails is scored on the CPU and says why
    /// (`RerankResult::backend_fallback`).
    Gpu,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            other => Err(Error::InvalidOptions(format!("backend must be auto, cpu or gpu, got '{other}'"))),
        }
    }
}

/// What `auto` measured: per page-size class (candidates rounded up to a power of two), the
/// faster engine. Each class is measured once, on the first page of that size: both engines
/// score it and the faster is kept.
#[derive(Debug, Default, Clone)]
pub struct AutoChoice {
    faster_on_gpu: HashMap<usize, bool>,
}

impl AutoChoice {
    pub fn size_class(n_candidates: usize) -> usize {
        n_candidates.next_power_of_two()
    }

    /// `None` until this size class is measured.
    pub fn use_gpu(&self, n_candidates: usize) -> Option<bool> {
        self.faster_on_gpu.get(&Self::size_class(n_candidates)).copied()
    }

    pub fn record(&mut self, n_candidates: usize, cpu_ms: f64, gpu_ms: f64) {
        self.faster_on_gpu.insert(Self::size_class(n_candidates), gpu_ms < cpu_ms);
    }

    /// Forget the measurements (after the GPU is lost or replaced).
    pub fn clear(&mut self) {
        self.faster_on_gpu.clear();
    }

    /// The measured classes, `(size class, gpu faster)`, smallest first.
    pub fn classes(&self) -> Vec<(usize, bool)> {
        let mut v: Vec<_> = self.faster_on_gpu.iter().map(|(&k, &g)| (k, g)).collect();
        v.sort_unstable();
        v
    }
}
