//! [`Globals`]: the `[hekad]` section, with Heka's defaults (reference §2.2).
//!
//! Every key Heka accepts is accepted (some, like `maxprocs` or `cpuprof`, have no
//! effect here and are only kept so existing configs load); unknown keys are rejected.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::parse_duration;
use heka_pipeline::system_hostname;

/// The `[hekad]` section as written (Heka's names and defaults).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalsConfig {
    /// GOMAXPROCS in Heka; accepted and ignored (every plugin has its own thread).
    pub maxprocs: i64,
    /// Packs per pool in Heka; accepted and ignored (queues are bounded by `plugin_chansize`).
    pub poolsize: i64,
    /// Capacity of every plugin's input queue.
    pub plugin_chansize: i64,
    /// Maximum injection depth of a message (0 is treated as 1).
    pub max_message_loops: u64,
    /// Maximum injections per sandbox filter `process_message` call.
    pub max_process_inject: u64,
    /// Maximum injections per sandbox filter `timer_event` call.
    pub max_timer_inject: u64,
    /// Slow-sandbox threshold in ns (Heka's dynamic sandboxes); accepted.
    pub max_process_duration: u64,
    /// Age at which a pack is reported idle (Go duration); accepted, validated.
    pub max_pack_idle: String,
    /// Writable state: journals, queues, sandbox state.
    pub base_dir: PathBuf,
    /// Read-only assets; relative plugin `filename`s resolve against it.
    pub share_dir: PathBuf,
    /// 1-in-N timing sampling (must be > 0).
    pub sample_denominator: i64,
    /// Written at start, removed at exit; start refused if the pid in it is alive.
    pub pid_file: String,
    /// Hostname of injected messages (default: the machine's).
    pub hostname: Option<String>,
    /// Largest message in bytes (must be > 1024).
    pub max_message_size: u64,
    /// Go log flags in Heka; accepted and ignored (we log through `tracing`).
    pub log_flags: i64,
    /// Disk buffer start-up retries; accepted.
    pub full_buffer_max_retries: u64,
    /// Go profiling outputs; accepted and ignored.
    pub cpuprof: String,
    pub memprof: String,
    /// The ops listener (dashboard, /metrics, /healthz; "" = off). hekad-rs only.
    pub ops_address: String,
    /// Token for reload, report and live tail when `ops_address` is not loopback.
    pub ops_token: String,
    /// A filter stuck in one call this long fails `/healthz` (Go duration).
    pub ops_liveness_timeout: String,
    /// Sandbox outputs (`inject_payload` names) kept per filter for the dashboard,
    /// each at most the filter's `output_limit` bytes. hekad-rs only.
    pub max_sandbox_outputs: u64,
}

impl Default for GlobalsConfig {
    fn default() -> Self {
        GlobalsConfig {
            maxprocs: 1,
            poolsize: 100,
            plugin_chansize: 30,
            max_message_loops: 4,
            max_process_inject: 1,
            max_timer_inject: 10,
            max_process_duration: 100_000,
            max_pack_idle: "2m".into(),
            base_dir: PathBuf::from("/var/cache/hekad"),
            share_dir: PathBuf::from("/usr/share/heka"),
            sample_denominator: 1000,
            pid_file: String::new(),
            hostname: None,
            max_message_size: 65536,
            log_flags: 3,
            full_buffer_max_retries: 10,
            cpuprof: String::new(),
            memprof: String::new(),
            ops_address: "127.0.0.1:4352".into(),
            ops_token: String::new(),
            ops_liveness_timeout: "30s".into(),
            max_sandbox_outputs: heka_pipeline::sandbox_outputs::DEFAULT_MAX_NAMES as u64,
        }
    }
}

/// The checked `[hekad]` settings used by the daemon.
#[derive(Debug, Clone)]
pub struct Globals {
    pub plugin_chansize: usize,
    pub max_message_loops: u8,
    pub max_process_inject: usize,
    pub max_timer_inject: usize,
    pub max_pack_idle: Duration,
    pub base_dir: PathBuf,
    pub share_dir: PathBuf,
    pub sample_denominator: u64,
    pub pid_file: Option<PathBuf>,
    pub hostname: String,
    pub max_message_size: usize,
    pub full_buffer_max_retries: u64,
    /// The ops listener's address; None = off.
    pub ops_address: Option<std::net::SocketAddr>,
    pub ops_token: Option<String>,
    pub ops_liveness_timeout: Duration,
    pub max_sandbox_outputs: usize,
}

impl Default for Globals {
    /// The same values `Globals::from_config(GlobalsConfig::default())` gives.
    fn default() -> Self {
        Globals {
            plugin_chansize: 30,
            max_message_loops: 4,
            max_process_inject: 1,
            max_timer_inject: 10,
            max_pack_idle: Duration::from_secs(120),
            base_dir: PathBuf::from("/var/cache/hekad"),
            share_dir: PathBuf::from("/usr/share/heka"),
            sample_denominator: 1000,
            pid_file: None,
            hostname: system_hostname(),
            max_message_size: 65536,
            full_buffer_max_retries: 10,
            ops_address: "127.0.0.1:4352".parse().ok(),
            ops_token: None,
            ops_liveness_timeout: Duration::from_secs(30),
            max_sandbox_outputs: heka_pipeline::sandbox_outputs::DEFAULT_MAX_NAMES,
        }
    }
}

impl Globals {
    /// Checks ranges; errors name the key.
    pub fn from_config(c: GlobalsConfig) -> Result<Globals, (&'static str, String)> {
        if c.plugin_chansize <= 0 {
            return Err(("plugin_chansize", "must be > 0".into()));
        }
        if c.sample_denominator <= 0 {
            return Err(("sample_denominator", "must be > 0".into()));
        }
        if c.max_message_size <= 1024 {
            return Err(("max_message_size", "must be > 1024".into()));
        }
        if c.max_message_size > u64::from(u32::MAX) {
            return Err(("max_message_size", "must fit in 32 bits".into()));
        }
        let max_pack_idle = parse_duration(&c.max_pack_idle).map_err(|e| ("max_pack_idle", e))?;
        let ops_address = match c.ops_address.as_str() {
            "" => None,
            a => Some(
                a.parse()
                    .map_err(|_| ("ops_address", format!("{a:?} is not an IP:port address")))?,
            ),
        };
        let ops_liveness_timeout =
            parse_duration(&c.ops_liveness_timeout).map_err(|e| ("ops_liveness_timeout", e))?;
        Ok(Globals {
            plugin_chansize: c.plugin_chansize as usize,
            // Heka treats 0 as 1; depths past 255 are meaningless.
            max_message_loops: c.max_message_loops.clamp(1, 255) as u8,
            max_process_inject: c.max_process_inject as usize,
            max_timer_inject: c.max_timer_inject as usize,
            max_pack_idle,
            base_dir: c.base_dir,
            share_dir: c.share_dir,
            sample_denominator: c.sample_denominator as u64,
            pid_file: (!c.pid_file.is_empty()).then(|| PathBuf::from(c.pid_file)),
            hostname: c
                .hostname
                .filter(|h| !h.is_empty())
                .unwrap_or_else(system_hostname),
            max_message_size: c.max_message_size as usize,
            full_buffer_max_retries: c.full_buffer_max_retries,
            ops_address,
            ops_token: (!c.ops_token.is_empty()).then_some(c.ops_token),
            ops_liveness_timeout,
            max_sandbox_outputs: usize::try_from(c.max_sandbox_outputs).unwrap_or(usize::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_hekas() {
        let g = Globals::from_config(GlobalsConfig::default()).unwrap();
        let d = Globals::default();
        assert_eq!(format!("{g:?}"), format!("{d:?}"));
        assert_eq!(g.plugin_chansize, 30);
        assert_eq!(g.max_message_loops, 4);
        assert_eq!(g.max_message_size, 65536);
        assert_eq!(g.max_pack_idle, Duration::from_secs(120));
        assert_eq!(g.base_dir, PathBuf::from("/var/cache/hekad"));
        assert!(!g.hostname.is_empty());
        assert!(g.pid_file.is_none());
    }

    /// The dashboard's bound on sandbox outputs reaches the pipeline's settings.
    #[test]
    fn max_sandbox_outputs_reaches_the_pipeline() {
        let c = GlobalsConfig {
            max_sandbox_outputs: 2,
            ..Default::default()
        };
        let g = Globals::from_config(c).unwrap();
        assert_eq!(crate::plugins::settings(&g).max_sandbox_outputs, 2);
        let d = crate::plugins::settings(&Globals::default());
        assert_eq!(
            d.max_sandbox_outputs,
            heka_pipeline::sandbox_outputs::DEFAULT_MAX_NAMES
        );
    }

    #[test]
    fn ranges_checked() {
        let c = GlobalsConfig {
            max_message_size: 1000,
            ..Default::default()
        };
        assert_eq!(Globals::from_config(c).unwrap_err().0, "max_message_size");
        let c = GlobalsConfig {
            max_message_loops: 0,
            ..Default::default()
        };
        assert_eq!(Globals::from_config(c).unwrap().max_message_loops, 1);
    }
}
