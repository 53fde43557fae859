//! [`OpsConfig`]: where the listener binds and who may use its mutating and
//! data-revealing calls. Built by the daemon from `[hekad] ops_address`/`ops_token`
//! or a Heka `[DashboardOutput]` section; plain values here so tests need no TOML.

use std::net::SocketAddr;
use std::time::Duration;

/// Heka's dashboard port, on loopback: hekad-rs does not listen on every interface
/// unless told to (Heka's DashboardOutput bound 0.0.0.0 with no authentication).
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:4352";

/// The listener's settings.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// Where to listen (`ops_address`; port 0 picks one).
    pub address: SocketAddr,
    /// Required for reload, report and the live tail when `address` is not loopback
    /// (`Authorization: Bearer TOKEN` or `?token=TOKEN`). Off loopback without a
    /// token, those calls are refused.
    pub token: Option<String>,
    /// A filter inside one call for longer than this fails liveness (`/healthz` 503).
    pub liveness_timeout: Duration,
    /// Seconds of per-second history kept for the graphs (each plugin: a few series
    /// of this many points; 300 points × 6 series × 8 bytes ≈ 14 KB per plugin).
    pub history_seconds: usize,
    /// Extra response headers (`[DashboardOutput.headers]`).
    pub headers: Vec<(String, String)>,
}

impl OpsConfig {
    /// Defaults around `address`: 30 s liveness, 5 minutes of history, no token.
    pub fn new(address: SocketAddr) -> OpsConfig {
        OpsConfig {
            address,
            token: None,
            liveness_timeout: Duration::from_secs(30),
            history_seconds: 300,
            headers: Vec::new(),
        }
    }

    /// Whether the calls that change things or reveal message data need the token.
    pub fn token_required(&self) -> bool {
        !self.address.ip().is_loopback()
    }
}
