//! The Ballista engine: a client session on a remote scheduler, and a scheduler plus one
//! executor started in this process on the loopback interface ([`LoopbackCluster`]), for tests
//! and for trying `--engine ballista://…` on one machine.

use std::time::Duration;

use ::ballista::prelude::SessionContextExt;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::BallistaCodec;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};

/// Whether this build has the Ballista engine.
pub const ENABLED: bool = true;

fn ballista_error(e: impl std::fmt::Display) -> Error {
    Error::io("ballista", e.to_string())
}

/// A session whose plans run on the scheduler at `host:port`.
pub(super) async fn connect(host: &str, port: u16) -> Result<SessionContext> {
    SessionContext::remote(&format!("df://{host}:{port}")).await.map_err(ballista_error)
}

/// A Ballista scheduler and one executor, both listening on `localhost`, running on their own
/// threads until dropped.
pub struct LoopbackCluster {
    runtime: Option<tokio::runtime::Runtime>,
    port: u16,
}

impl LoopbackCluster {
    /// Starts the scheduler on a free port, then an executor with `slots` task slots that
    /// registers with it.
    pub fn start(slots: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ballista-loopback")
            .build()
            .map_err(ballista_error)?;
        let port = runtime.block_on(async {
            let addr = ballista_scheduler::standalone::new_standalone_scheduler().await.map_err(ballista_error)?;
            let url = format!("http://localhost:{}", addr.port());
            let mut tries = 0;
            let scheduler = loop {
                match SchedulerGrpcClient::connect(url.clone()).await {
                    Ok(client) => break client,
                    Err(e) if tries > 100 => return Err(ballista_error(e)),
                    Err(_) => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            };
            ballista_executor::new_standalone_executor(scheduler, slots.max(1), BallistaCodec::default())
                .await
                .map_err(ballista_error)?;
            Ok::<_, Error>(addr.port())
        })?;
        Ok(LoopbackCluster { runtime: Some(runtime), port })
    }

    /// The scheduler's port on `localhost`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ballista://localhost:PORT`, as `homerank prepare --engine` takes it.
    pub fn url(&self) -> String {
        format!("ballista://localhost:{}", self.port)
    }
}

impl Drop for LoopbackCluster {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
