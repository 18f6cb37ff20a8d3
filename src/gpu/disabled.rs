//! The GPU backend's stand-in when homerank is built without the `gpu` feature: the names and
//! signatures of `gpu/mod.rs`, with a [`GpuModel`] that cannot exist (`GpuModel::new` always
//! fails), so callers need no `cfg`.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::features::Features;
use crate::model::{HrsConfig, RawTensor};

/// Whether this build can wait for a GPU forward synchronously: there is no GPU to wait for.
pub const CAN_BLOCK: bool = false;

/// How to find and use a GPU (nothing to find in this build).
#[derive(Debug, Clone)]
pub struct GpuSettings {
    /// Longest wait for a forward's result.
    pub timeout: Duration,
}

impl Default for GpuSettings {
    fn default() -> Self {
        GpuSettings { timeout: Duration::from_secs(10) }
    }
}

/// What the GPU is, for `stats()`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterSummary {
    /// The adapter's name, or its driver's when the name is empty.
    pub name: String,
    /// `vulkan`, `gl`, `webgpu`, ….
    pub backend: String,
    /// `cpu` for software adapters (lavapipe, llvmpipe, SwiftShader).
    pub device_type: String,
    /// Whether WGSL's `dot4I8Packed` is available (not used).
    pub packed_int8_dot: bool,
}

/// HR-S on a GPU: never constructed in this build.
#[derive(Debug)]
pub enum GpuModel {}

impl GpuModel {
    /// Always fails: this build has no GPU support.
    pub async fn new(
        _config: &HrsConfig,
        _tensors: &HashMap<String, RawTensor>,
        _settings: &GpuSettings,
    ) -> Result<Self> {
        Err(Error::NotEnabled(
            "the GPU backend (the cargo feature `gpu`; the npm package loads its WebGPU module only where navigator.gpu exists)",
        ))
    }

    /// The adapter the model runs on (never called: no `GpuModel` exists in this build).
    pub fn adapter(&self) -> &AdapterSummary {
        match *self {}
    }

    /// The architecture of the model on the GPU (never called in this build).
    pub fn config(&self) -> &HrsConfig {
        match *self {}
    }

    /// Stands in for the test hook that destroys the device (never called in this build).
    pub fn simulate_device_loss(&self) {
        match *self {}
    }

    /// Would score a page's candidates in page order (never called in this build).
    pub async fn score(&mut self, _features: &Features) -> Result<Vec<f32>> {
        match *self {}
    }

    /// [`GpuModel::score`], blocking (never called in this build; see [`CAN_BLOCK`]).
    pub fn score_blocking(&mut self, _features: &Features) -> Result<Vec<f32>> {
        match *self {}
    }
}
