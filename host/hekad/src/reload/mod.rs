//! Reloading the configuration in place (SIGHUP, `POST /api/v1/reload`, `hekad
//! reload`).
//!
//! The new configuration is read and built completely first (every file, section and
//! key, as `hekad validate`). If anything is wrong, every problem is answered and the
//! running pipeline is not touched. If it is valid, the running pipeline is stopped
//! gracefully, exactly as for SIGTERM: inputs stop, queues drain, filters get their
//! final timer event, outputs flush, LogstreamerInput journals record what was
//! delivered. The new pipeline then starts in the same statistics registry, so the ops
//! listener, its history and live-tail sessions carry on.
//!
//! What this costs and guarantees:
//! - Every plugin restarts, changed or not (not only the changed ones). Logstreamer
//!   inputs resume from their journals, so no line is lost or repeated; a TcpInput's
//!   connections are closed and clients reconnect; a sandbox keeps its state only
//!   through `preserve_data`, as across a restart.
//! - Nothing is read while the swap runs: about one drain (bounded by the pipeline's
//!   drain timeout per phase) plus the start of the new plugins.
//! - If the new pipeline cannot start (a port taken, a file that cannot be opened),
//!   the previous configuration is built again from its loaded form and started; the
//!   answer carries the error.
//! - The ops listener's own settings (`ops_address`, `ops_token`) are read at start
//!   only.
//!
//! SIGHUP is also Heka's "reopen your files" signal (logrotate sends it): it reopens
//! the outputs' files always, but reloads only when a configuration file's text
//! changed, so a rotation does not restart the pipeline. `POST /api/v1/reload` and
//! `hekad reload` always reload (to pick up a changed plugin file, say).
//!
//! One reload at a time: a second request while one runs is answered "busy" (409),
//! never queued, so nothing can stay stuck "in progress".
//!
//! The swap itself happens on the thread that runs [`crate::run`]: a request parks the
//! built pipeline here, stops the running one and waits for that thread to answer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use heka_ops::ReloadOutcome;
use heka_pipeline::{Pipeline, PipelineHandle, Registry};

use crate::assemble::{Assembled, assemble, load_and_assemble};
use crate::config::{Config, Source};

/// How long a request waits for the swap to be answered: three drain phases of the
/// default 10 s, plus starting the new plugins.
const SWAP_WAIT: Duration = Duration::from_secs(90);

/// A validated configuration waiting for the running pipeline to stop.
pub struct Pending {
    config: Config,
    assembled: Assembled,
    reply: SyncSender<ReloadOutcome>,
}

struct Slot {
    /// The running pipeline's handle (None between stop and start).
    handle: Option<PipelineHandle>,
    pending: Option<Pending>,
    /// hekad is stopping: reloads are refused.
    stopping: bool,
    /// The running configuration's files, as read (for SIGHUP's "did it change").
    sources: Vec<Source>,
}

/// Shared by the signal thread, the ops listener and the thread running the pipeline.
pub struct Reloader {
    path: PathBuf,
    registry: Arc<Registry>,
    busy: AtomicBool,
    slot: Mutex<Slot>,
}

impl Reloader {
    /// For the configuration at `path` (running as `config`), with the running
    /// pipeline's handle.
    pub fn new(
        path: PathBuf,
        config: &Config,
        registry: Arc<Registry>,
        handle: PipelineHandle,
    ) -> Reloader {
        Reloader {
            path,
            registry,
            busy: AtomicBool::new(false),
            slot: Mutex::new(Slot {
                handle: Some(handle),
                pending: None,
                stopping: false,
                sources: config.sources.clone(),
            }),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The running pipeline's handle (for SIGHUP's reopen).
    pub fn handle(&self) -> Option<PipelineHandle> {
        self.slot().handle.clone()
    }

    /// hekad is stopping: no more reloads; returns the handle to shut down.
    pub fn stop(&self) -> Option<PipelineHandle> {
        let mut slot = self.slot();
        slot.stopping = true;
        if let Some(p) = slot.pending.take() {
            let _ = p
                .reply
                .send(self.outcome(false, true, vec!["hekad is stopping".into()]));
        }
        slot.handle.clone()
    }

    /// Reads, validates and (if valid) applies the configuration file again; blocks
    /// until the new pipeline runs or the attempt failed. `if_changed` (SIGHUP): a
    /// configuration whose files read the same as the running one's is not applied.
    pub fn request(&self, if_changed: bool) -> ReloadOutcome {
        if self.busy.swap(true, Ordering::AcqRel) {
            let mut outcome = self.outcome(false, false, vec!["a reload is under way".into()]);
            outcome.busy = true;
            return outcome;
        }
        let outcome = self.request_unlocked(if_changed);
        self.busy.store(false, Ordering::Release);
        outcome
    }

    fn request_unlocked(&self, if_changed: bool) -> ReloadOutcome {
        let (config, assembled) = match load_and_assemble(&self.path) {
            Ok(loaded) => loaded,
            Err(errors) => {
                let errors: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
                for error in &errors {
                    tracing::error!(%error, "reload refused; the running configuration stays");
                }
                self.failed(&errors);
                return self.outcome(false, false, errors);
            }
        };
        let (reply, answer): (_, Receiver<ReloadOutcome>) = sync_channel(1);
        {
            let mut slot = self.slot();
            if if_changed && same_files(&slot.sources, &config.sources) {
                tracing::info!(config = %self.path.display(), "reload: the configuration files are unchanged; nothing to apply");
                return self.outcome(true, true, Vec::new());
            }
            let Some(handle) = slot.handle.clone().filter(|_| !slot.stopping) else {
                return self.outcome(false, true, vec!["hekad is stopping".into()]);
            };
            slot.pending = Some(Pending {
                config,
                assembled,
                reply,
            });
            tracing::info!(config = %self.path.display(), "reload: the new configuration is valid; stopping the running pipeline");
            handle.shutdown();
        }
        answer.recv_timeout(SWAP_WAIT).unwrap_or_else(|_| {
            self.outcome(
                false,
                true,
                vec![format!(
                    "no answer within {} s: the running pipeline is still draining",
                    SWAP_WAIT.as_secs()
                )],
            )
        })
    }

    /// The validated configuration waiting, if the pipeline stopped for a reload.
    pub fn take_pending(&self) -> Option<Pending> {
        let mut slot = self.slot();
        slot.handle = None;
        slot.pending.take()
    }

    /// Starts the pending configuration (or, if it cannot start, the previous one
    /// again) in the registry; answers the request. `current` is the running
    /// configuration, replaced on success. Err: neither could start.
    pub fn apply(&self, pending: Pending, current: &mut Config) -> Result<Pipeline, String> {
        let Pending {
            config,
            assembled,
            reply,
        } = pending;
        self.registry
            .begin_generation(&|name| assembled.has_plugin(name));
        match assembled.start_in(self.registry.clone()) {
            Ok(pipeline) => {
                crate::ops::record_type_names(&config, &self.registry);
                let c = &self.registry.config;
                c.generation.set(c.generation.get() + 1);
                c.reload_successes.inc();
                c.last_success_s
                    .set(heka_pipeline::stats::wall_ns() as u64 / 1_000_000_000);
                if let Ok(mut last) = c.last_error.lock() {
                    *last = None;
                }
                self.slot().sources = config.sources.clone();
                *current = config;
                tracing::info!(
                    generation = c.generation.get(),
                    "reload: the new configuration runs"
                );
                self.started(&pipeline);
                let _ = reply.send(self.outcome(true, true, Vec::new()));
                Ok(pipeline)
            }
            Err(error) => {
                let text = format!(
                    "the new configuration could not start: {error}; the previous one runs again"
                );
                tracing::error!("reload: {text}");
                self.failed(std::slice::from_ref(&text));
                let restarted = self.restart(current);
                let _ = reply.send(self.outcome(false, true, vec![text]));
                restarted
            }
        }
    }

    /// Builds and starts `config` again (the previous configuration).
    fn restart(&self, config: &Config) -> Result<Pipeline, String> {
        let assembled = assemble(config).map_err(|e| e.to_string())?;
        self.registry
            .begin_generation(&|name| assembled.has_plugin(name));
        let pipeline = assembled
            .start_in(self.registry.clone())
            .map_err(|e| e.to_string())?;
        crate::ops::record_type_names(config, &self.registry);
        self.started(&pipeline);
        Ok(pipeline)
    }

    fn started(&self, pipeline: &Pipeline) {
        let mut slot = self.slot();
        slot.handle = Some(pipeline.stop_handle());
        if slot.stopping {
            // SIGTERM arrived during the swap: stop the new pipeline as well.
            pipeline.shutdown();
        }
    }

    fn failed(&self, errors: &[String]) {
        let c = &self.registry.config;
        c.reload_failures.inc();
        if let Ok(mut last) = c.last_error.lock() {
            *last = Some(errors.join("\n"));
        }
    }

    fn outcome(&self, ok: bool, valid: bool, errors: Vec<String>) -> ReloadOutcome {
        ReloadOutcome {
            ok,
            valid,
            generation: self.registry.config.generation.get(),
            errors,
            busy: false,
        }
    }
}

/// Whether two configurations were read from the same files with the same text.
fn same_files(a: &[Source], b: &[Source]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.path == b.path && a.text == b.text)
}
