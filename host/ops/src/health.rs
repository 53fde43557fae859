//! Liveness and readiness, judged from the registry.
//!
//! - **Live** (`/healthz`): no filter has been inside one call for longer than the
//!   liveness timeout. A wedged filter (a native plugin blocked, a sandbox stuck in a
//!   host call) turns it false within that time plus one poll. Outputs are *not*
//!   watched: a sink outage keeps an output retrying, and liveness failing then would
//!   only restart hekad in a loop for as long as the sink is down (the complaint about
//!   Fluent Bit's health check, the other way round). Inputs block on full queues for
//!   the same reason and are not watched either.
//! - **Ready** (`/readyz`): every plugin started and no shutdown under way. The body
//!   lists each check, plus what an operator wants to know before sending traffic:
//!   terminated plugins and outputs in retry.

use std::time::Duration;

use heka_pipeline::Registry;
use heka_pipeline::stats::{PluginKind, PluginState};
use serde::Serialize;

/// The `/healthz` body.
#[derive(Debug, Serialize)]
pub struct Liveness {
    pub live: bool,
    pub timeout_seconds: f64,
    /// Plugins stuck in one call longer than the timeout: (name, seconds).
    pub wedged: Vec<(String, f64)>,
}

/// Judges liveness now.
pub fn liveness(registry: &Registry, timeout: Duration) -> Liveness {
    let wedged: Vec<_> = registry
        .wedged(timeout)
        .into_iter()
        .map(|(p, busy)| (p.name().to_owned(), busy.as_secs_f64()))
        .collect();
    Liveness {
        live: wedged.is_empty(),
        timeout_seconds: timeout.as_secs_f64(),
        wedged,
    }
}

/// The `/readyz` body.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub started: bool,
    pub stopping: bool,
    /// Informational: plugins terminated (with `can_exit`, hekad runs on without them).
    pub terminated: Vec<String>,
    /// Informational: outputs waiting to retry a failed send.
    pub outputs_retrying: Vec<String>,
}

/// Judges readiness now.
pub fn readiness(registry: &Registry) -> Readiness {
    let plugins = registry.plugins();
    let started = registry.started();
    let stopping = registry.stopping();
    Readiness {
        ready: started && !stopping,
        started,
        stopping,
        terminated: plugins
            .iter()
            .filter(|p| p.state() == PluginState::Terminated)
            .map(|p| p.name().to_owned())
            .collect(),
        outputs_retrying: plugins
            .iter()
            .filter(|p| p.kind() == PluginKind::Output && p.backoff_ns.get() > 0)
            .map(|p| p.name().to_owned())
            .collect(),
    }
}
