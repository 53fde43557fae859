//! The daemon: load the configuration, build the pipeline, run it until a signal.
//!
//! SIGINT/SIGTERM ask for a graceful shutdown (inputs stop, queues drain, filters get
//! their final timer events, outputs flush) and hekad exits 0; a second one stops at
//! once. SIGHUP asks outputs to reopen their files (log rotation) and, if a
//! configuration file changed, reloads it (`crate::reload`: a valid one is applied,
//! restarting only the plugins that changed; errors are logged and the running one
//! stays). SIGUSR1 writes
//! Heka's text report to the log. The ops listener (`crate::ops`) starts with the
//! pipeline and reads its statistics registry. `[hekad] pid_file`
//! is written at start and removed at exit; a live pid already in it refuses the start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::assemble::load_and_assemble;
use crate::config;
use crate::reload::Reloader;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(#[from] config::ConfigErrors),
    #[error("pid file {path}: {reason}")]
    PidFile { path: PathBuf, reason: String },
    #[error("cannot start the pipeline: {0}")]
    Pipeline(#[from] heka_pipeline::PipelineError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Runs hekad on the configuration at `path`; returns the process exit code.
pub fn run(path: &Path) -> Result<i32, RunError> {
    let (config, assembled) = load_and_assemble(path)?;
    let _pid_file = match &config.globals.pid_file {
        Some(p) => Some(PidFile::create(p)?),
        None => None,
    };
    // Register before starting so a signal arriving during start-up is not lost
    // (it would otherwise kill the process with the default action).
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1]).map_err(RunError::Signals)?;
    let signals_handle = signals.handle();
    tracing::info!(
        config = %path.display(),
        inputs = assembled.inputs.len(),
        filters = assembled.filters.len(),
        outputs = assembled.outputs.len(),
        "starting hekad"
    );
    // One registry for the whole process: reloads start their pipelines in it.
    let registry = Arc::new(heka_pipeline::Registry::new());
    let mut pipeline = assembled.start_in(registry.clone())?;
    registry.config.generation.set(1);
    registry
        .config
        .last_success_s
        .set(heka_pipeline::stats::wall_ns() as u64 / 1_000_000_000);
    let reloader = Arc::new(Reloader::new(
        path.to_path_buf(),
        &config,
        registry.clone(),
        pipeline.stop_handle(),
    ));
    let hooks = heka_ops::Hooks {
        reload: Some({
            let reloader = reloader.clone();
            Arc::new(move || reloader.request(false))
        }),
    };
    let ops = crate::ops::start(&config, registry.clone(), hooks);
    let signal_thread = {
        let reloader = reloader.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || handle_signals(&mut signals, &reloader, &registry))
            .map_err(RunError::Signals)?
    };
    drop(config);
    let status = loop {
        let status = pipeline.wait();
        let Some(pending) = reloader.take_pending() else {
            break status;
        };
        match reloader.apply(pending) {
            Ok(next) => pipeline = next,
            Err(error) => {
                tracing::error!(%error, "reload: no configuration could start");
                break heka_pipeline::ExitStatus::PluginFailed("hekad".to_owned(), error);
            }
        }
    };
    signals_handle.close();
    let _ = signal_thread.join();
    drop(ops);
    match &status {
        heka_pipeline::ExitStatus::Clean => tracing::info!("hekad stopped"),
        heka_pipeline::ExitStatus::PluginFailed(name, reason) => {
            tracing::error!(plugin = %name, %reason, "hekad stopped because a plugin failed")
        }
    }
    Ok(status.code())
}

/// The signal thread: SIGHUP reopens outputs and reloads a changed configuration, SIGUSR1 reports, the first
/// SIGINT/SIGTERM stops gracefully and the second at once.
fn handle_signals(signals: &mut Signals, reloader: &Reloader, registry: &heka_pipeline::Registry) {
    let mut stopping = false;
    for signal in signals.forever() {
        match signal {
            SIGHUP => {
                tracing::info!(
                    "SIGHUP: reopening outputs, reloading the configuration if it changed"
                );
                if let Some(handle) = reloader.handle() {
                    handle.reopen_outputs();
                }
                reloader.request(true);
            }
            SIGUSR1 => tracing::info!("{}", heka_ops::report::text(registry)),
            _ if stopping => {
                tracing::warn!(signal, "second stop signal: stopping at once");
                if let Some(handle) = reloader.handle() {
                    handle.shutdown();
                }
            }
            _ => {
                tracing::info!(signal, "shutting down (send again to stop at once)");
                stopping = true;
                // A looping guest must not hold the shutdown up for its whole
                // call_time_limit: calls now get heka_sandbox::SHUTDOWN_CALL_LIMIT.
                heka_sandbox::SandboxEngine::stop_shared_calls();
                // A reload may have begun the graceful stop already; asking again
                // would make it immediate.
                if let Some(handle) = reloader.stop().filter(|h| !h.is_shutting_down()) {
                    handle.shutdown();
                }
            }
        }
    }
}

/// The pid file, removed when dropped.
struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes our pid to `path`, refusing when it names a live process.
    fn create(path: &Path) -> Result<PidFile, RunError> {
        let err = |reason: String| RunError::PidFile {
            path: path.to_path_buf(),
            reason,
        };
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid > 0
            && pid_alive(pid)
        {
            return Err(err(format!("hekad already running with pid {pid}")));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| err(e.to_string()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove pid file");
        }
    }
}

/// Whether a process with `pid` exists (signal 0 probes without sending).
fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks permissions and existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_written_refused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hekad.pid");
        let pid = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        // Our own pid is alive: a second start is refused.
        assert!(matches!(
            PidFile::create(&path),
            Err(RunError::PidFile { .. })
        ));
        drop(pid);
        assert!(!path.exists());
        // A stale pid (no such process) is overwritten.
        std::fs::write(&path, "999999999\n").unwrap();
        let again = PidFile::create(&path).unwrap();
        drop(again);
    }
}
