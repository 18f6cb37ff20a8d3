//! The Ballista engine's stand-in when homerank is built without the `ballista` feature: the
//! same names, and errors that say which feature to build with.

use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};

/// Whether this build has the Ballista engine.
pub const ENABLED: bool = false;

const NOT_ENABLED: &str = "the Ballista engine (build with --features ballista)";

pub(super) async fn connect(_host: &str, _port: u16) -> Result<SessionContext> {
    Err(Error::NotEnabled(NOT_ENABLED))
}

/// A loopback Ballista cluster: none can start in this build.
pub struct LoopbackCluster {
    port: u16,
}

impl LoopbackCluster {
    /// Always fails: this build has no Ballista.
    pub fn start(_slots: usize) -> Result<Self> {
        Err(Error::NotEnabled(NOT_ENABLED))
    }

    /// The scheduler's port on `localhost`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ballista://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("ballista://localhost:{}", self.port)
    }
}
