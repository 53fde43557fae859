//! `heka-ops`: hekad's one ops listener (Heka's port 4352, on loopback by default).
//!
//! Everything an operator looks at is served here from the statistics registry
//! ([`heka_pipeline::Registry`]), read directly from its atomics, never through the
//! router, so the answers keep coming when the pipeline wedges:
//!
//! - `metrics`: `GET /metrics`, Prometheus text (names in `shared/design/operability.md`).
//! - `health`: `GET /healthz` (liveness: no filter stuck in one call longer than
//!   [`OpsConfig::liveness_timeout`]) and `GET /readyz`.
//! - `status`: `GET /api/v1/status`, the one JSON snapshot every view is built from
//!   (the dashboard, `hekad status`, the tests); [`status::Status`] is its type.
//! - `history`: `GET /api/v1/history`, a bounded ring of per-second samples so graphs
//!   draw on first load.
//! - `tail`: `GET /api/v1/tail?match=EXPR`, a live tail over server-sent events.
//! - `outputs`: `GET /api/v1/sandbox_outputs[/{plugin}/{name}]`, each sandbox
//!   filter's latest `inject_payload` per name (Heka's DashboardOutput files).
//! - `report`: Heka's text report (SIGUSR1, `POST /api/v1/report`).
//! - `assets`: the dashboard (our own HTML, JS and CSS, embedded; no CDN).
//! - `routes`: the axum router, the token check and the small JSON errors.
//!
//! The listener runs on its own thread with a current-thread tokio runtime: the
//! pipeline stays on plain threads, and a slow browser costs the pipeline nothing.
//! Start it with [`OpsServer::start`].

mod assets;
mod config;
pub mod data_files;
mod health;
pub mod history;
pub mod metrics;
pub mod outputs;
mod procfs;
pub mod report;
mod routes;
pub mod status;
mod tail;

use std::future::IntoFuture;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use heka_pipeline::Registry;

pub use config::{DEFAULT_ADDRESS, OpsConfig};
pub use outputs::percent_encode;
pub use routes::{ReloadChanges, ReloadHook, ReloadOutcome};

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("ops listener: cannot bind {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("ops listener: {0}")]
    Runtime(#[source] std::io::Error),
}

/// What the listener can do beyond reading the registry.
#[derive(Default, Clone)]
pub struct Hooks {
    /// `POST /api/v1/reload`: validate and apply the config again (None: 501).
    pub reload: Option<ReloadHook>,
}

/// The running listener; stops when [`OpsServer::stop`] is called or it is dropped.
pub struct OpsServer {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    history: history::Sampler,
}

impl OpsServer {
    /// Binds `config.address` and serves on a thread of its own.
    pub fn start(
        config: OpsConfig,
        registry: Arc<Registry>,
        hooks: Hooks,
    ) -> Result<OpsServer, OpsError> {
        let listener = TcpListener::bind(config.address).map_err(|source| OpsError::Bind {
            address: config.address,
            source,
        })?;
        let address = listener.local_addr().map_err(OpsError::Runtime)?;
        listener.set_nonblocking(true).map_err(OpsError::Runtime)?;
        let history = history::Sampler::start(registry.clone(), config.history_seconds)
            .map_err(OpsError::Runtime)?;
        let state = routes::State::new(config, address, registry, history.ring(), hooks);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(OpsError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name("ops".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(error) => {
                            tracing::error!(%error, "ops listener: cannot register the socket");
                            return;
                        }
                    };
                    let app = routes::router(state);
                    serve_until(axum::serve(listener, app).into_future(), stop_rx).await;
                });
                // The runtime is dropped here, and with it every connection task:
                // an open live tail does not hold the stop up.
            })
            .map_err(OpsError::Runtime)?;
        tracing::info!(%address, "ops listener (dashboard, /metrics, /healthz) started");
        Ok(OpsServer {
            address,
            stop: Some(stop_tx),
            thread: Some(thread),
            history,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving. Open live tails end (their streams are dropped with the runtime).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.history.stop();
    }
}

/// Serves until `stop` fires (or serving fails); connections are left to the
/// runtime's drop rather than drained, so a stop never waits on a browser.
async fn serve_until(
    serve: impl std::future::Future<Output = std::io::Result<()>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    let mut serve = std::pin::pin!(serve);
    std::future::poll_fn(|cx| {
        if Pin::new(&mut stop).poll(cx).is_ready() {
            return Poll::Ready(());
        }
        match serve.as_mut().poll(cx) {
            Poll::Ready(Err(error)) => {
                tracing::error!(%error, "ops listener stopped");
                Poll::Ready(())
            }
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
