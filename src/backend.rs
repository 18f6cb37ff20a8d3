//! Which engine scores a page: the CPU engine (`model::cpu`), or HR-S on the GPU (`gpu`, with
//! the `gpu` feature; a stand-in without it), how `auto` picks between them, and the GPU's
//! bookkeeping ([`GpuState`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gpu::{GpuModel, GpuSettings};
use crate::model::ModelFile;

/// The backend setting of a [`crate::HomeRanker`]. The default, in Rust, the CLI and JS alike,
/// is [`Backend::Cpu`]: the CPU engine is the fast path for Home-sized pages, and the GPU is
/// something a host opts into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The GPU where one is attached and measured faster for pages of this size, else the CPU.
    Auto,
    /// Always the CPU.
    #[default]
    Cpu,
    /// The GPU; a call whose GPU forward fails is scored on the CPU and says why
    /// (`RerankResult::backend_fallback`).
    Gpu,
}

impl Backend {
    /// The setting's name as in JSON, the CLI and JS: `auto`, `cpu` or `gpu`.
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

    fn from_str(s: &str) -> std::result::Result<Self, Error> {
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
    /// The class a page of `n_candidates` belongs to: the count rounded up to a power of two
    /// (1 for an empty page).
    pub fn size_class(n_candidates: usize) -> usize {
        n_candidates.next_power_of_two()
    }

    /// `None` until this size class is measured.
    pub fn use_gpu(&self, n_candidates: usize) -> Option<bool> {
        self.faster_on_gpu.get(&Self::size_class(n_candidates)).copied()
    }

    /// Keeps the faster engine for the size class of `n_candidates`, from one timing of each
    /// (milliseconds); a tie goes to the CPU. Replaces an earlier measurement of that class.
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

/// The ranker's GPU side: the backend setting, the attached model (absent while a pending
/// asynchronous rerank holds it), what `auto` measured, and what `stats()` reports.
#[derive(Debug, Default)]
pub(crate) struct GpuState {
    pub setting: Backend,
    model: Option<GpuModel>,
    /// `name (backend, device type)` of the attached adapter.
    pub adapter: Option<String>,
    /// Why the GPU could not be attached or last failed.
    pub error: Option<String>,
    pub calls: u64,
    pub fallbacks: u64,
    pub auto: AutoChoice,
}

/// How one page is scored. (Built once per rerank and moved straight out: the size gap between
/// the variants costs nothing.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Plan {
    /// On the CPU; when the setting is `gpu`, the reason it is not the GPU.
    Cpu(Option<String>),
    /// On this GPU model, out of the state until [`GpuState::settle`]. `measure`: `auto`'s first
    /// page of its size class, which the CPU scores too, timed, and answers.
    Gpu { model: GpuModel, measure: bool },
}

/// What a GPU forward comes to.
pub(crate) enum Settled {
    /// Scores to use, and whether they came from the GPU.
    Scores { scores: Result<Vec<f32>>, on_gpu: bool },
    /// The forward failed: score on the CPU and say why.
    RescoreOnCpu(String),
}

impl GpuState {
    /// Puts `file` on a GPU. On failure the CPU goes on and `error` says why.
    pub async fn attach(&mut self, file: &ModelFile, settings: &GpuSettings) -> Result<()> {
        match GpuModel::new(&file.config, &file.tensors, settings).await {
            Ok(model) => {
                let a = model.adapter();
                self.adapter = Some(format!("{} ({}, {})", a.name, a.backend, a.device_type));
                self.model = Some(model);
                self.error = None;
                self.auto.clear();
                Ok(())
            }
            Err(e) => {
                self.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    pub fn model(&self) -> Option<&GpuModel> {
        self.model.as_ref()
    }

    /// Where a page of `n_cands` candidates is scored; `can_wait`: the caller can await (or
    /// block on) the GPU.
    pub fn plan(&mut self, n_cands: usize, can_wait: bool) -> Plan {
        if self.setting == Backend::Cpu {
            return Plan::Cpu(None);
        }
        let measured = self.auto.use_gpu(n_cands);
        let wanted = self.setting == Backend::Gpu || measured != Some(false);
        match self.model.take_if(|_| wanted && can_wait) {
            Some(model) => Plan::Gpu { model, measure: self.setting == Backend::Auto && measured.is_none() },
            None => Plan::Cpu(self.why_not()),
        }
    }

    /// With the setting `gpu`, why a call is scored on the CPU all the same.
    fn why_not(&self) -> Option<String> {
        if self.setting != Backend::Gpu {
            return None;
        }
        Some(if self.model.is_some() {
            // Present but not taken: the caller cannot wait for it.
            "the synchronous rerank cannot wait for the GPU in the browser: use rerank_async (rerankAsync)".to_owned()
        } else if self.adapter.is_some() {
            // Attached, but a pending rerank holds it.
            "the GPU is busy with another rerank_async call (rerankAsync); this one was scored on the CPU".to_owned()
        } else if let Some(e) = &self.error {
            e.clone()
        } else {
            "no GPU attached".to_owned()
        })
    }

    /// Takes the model back after its forward and decides which scores count: `cpu` is the
    /// timed CPU scoring of a measuring call, `gpu` the forward's scores and time.
    pub fn settle(
        &mut self,
        model: GpuModel,
        n_cands: usize,
        cpu: Option<(Result<Vec<f32>>, f64)>,
        gpu: Result<(Vec<f32>, f64)>,
    ) -> Settled {
        self.model = Some(model);
        match (cpu, gpu) {
            (Some((scores, cpu_ms)), gpu) => {
                let gpu_ms = gpu.map_or_else(
                    |e| {
                        self.error = Some(e.to_string());
                        f64::INFINITY
                    },
                    |(_, ms)| ms,
                );
                self.auto.record(n_cands, cpu_ms, gpu_ms);
                Settled::Scores { scores, on_gpu: false }
            }
            (None, Ok((scores, _))) => {
                self.calls += 1;
                Settled::Scores { scores: Ok(scores), on_gpu: true }
            }
            (None, Err(e)) => {
                self.fallbacks += 1;
                self.error = Some(e.to_string());
                Settled::RescoreOnCpu(e.to_string())
            }
        }
    }
}
