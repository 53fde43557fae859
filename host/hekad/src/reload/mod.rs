//! Reloading the configuration in place (SIGHUP, `POST /api/v1/reload`, `hekad
//! reload`), restarting only what changed.
//!
//! The new configuration is read and built completely first (every file, section and
//! key, as `hekad validate`). If anything is wrong, every problem is answered (422)
//! and the running pipeline is not touched.
//!
//! If it is valid, it is compared with the running one plugin by plugin (`diff.rs`:
//! type, every resolved option, the templates used, the content of the plugin file
//! loaded) and applied live (`live.rs`, [`heka_pipeline::Change`]):
//! - **kept**: unchanged plugins keep running untouched — same thread, same queue,
//!   same connections (a TcpInput's clients stay connected), same state;
//! - **started**: added plugins start;
//! - **stopped**: removed plugins stop with a drain: an input stops reading, a filter
//!   processes what is queued (final timer event when configured), an output
//!   delivers what is queued and flushes, so acknowledgements are honoured;
//! - **replaced**: changed plugins stop as removed ones, then the new version starts.
//!
//! The router's table is swapped live: messages routed before the swap reach the old
//! queues and are drained there, messages after it reach the new ones; no message is
//! lost or duplicated by the swap itself. While a replaced filter or output drains,
//! messages for it wait in its new queue (inputs feel back-pressure when it fills).
//!
//! **Sandbox state carries over** when a `SandboxFilter` is replaced by a changed
//! version of itself: same name, type `SandboxFilter` in both, same engine (both
//! `.wasm` or both `.lua`). The old instance processes what it was sent, saves its
//! state (the `preserve_data` state: Lua globals, the wasm guest's `save-state`) and
//! the new instance restores it before its first message, in memory, with or
//! without `preserve_data` (with it, the file is written too). The acks the old
//! instance held (messages whose effect lives in that state) move to the new one, so
//! inputs' journals move only once the new instance injected from them. If the new
//! version cannot restore the state it starts with its own, and the reply says so.
//! A sandbox encoder or decoder keeps its state across a reload that replaces its
//! output or input when its section sets `preserve_data`, through the file, as
//! across a restart: the old instance saves it when its output or input has
//! stopped, and the replacement's is made after that and restores it (an encoder
//! made earlier to check the change is dropped first). Without `preserve_data` they
//! start fresh, as Heka's did at every start; so do native filters.
//!
//! A replaced input resumes where its old instance's bookkeeping says: a
//! LogstreamerInput from its journal, which moves as acknowledgements come home, so
//! lines still in flight when it was replaced may be read again (within the duplicate
//! bound of `docs/delivery.md`); a TcpInput's clients reconnect to the new instance.
//!
//! A change to `[hekad]` settings other than the ops listener's falls back to a full
//! restart, said in the reply and the log: the running pipeline stops gracefully as
//! for SIGTERM (LogstreamerInput journals record what was delivered, TcpInput clients
//! reconnect, sandbox state only through `preserve_data`) and the new one starts in
//! the same statistics registry. If a full restart's new pipeline cannot start, or a
//! live change fails part-way, the previous configuration is started again (503).
//! If a live change fails before touching anything (an encoder that cannot be made,
//! a buffer that cannot be opened), the running pipeline stays as it was (503).
//!
//! The reply (and the log line) lists what was started, stopped, replaced, kept and
//! whose state carried over ([`heka_ops::ReloadChanges`]).
//!
//! SIGHUP is also Heka's "reopen your files" signal (logrotate sends it): it reopens
//! the outputs' files always, but reloads only when a configuration file's text
//! changed, so a rotation does not restart anything. `POST /api/v1/reload` and `hekad
//! reload` always compare (to pick up a changed plugin file, say). The ops listener's
//! own settings (`ops_address`, `ops_token`) are read at start only.
//!
//! One reload at a time: a second request while one runs is answered "busy" (409),
//! never queued, so nothing can stay stuck "in progress".
//!
//! A live change runs on the pipeline's supervisor thread; a full restart on the
//! thread that runs [`crate::run`]: a request parks the built pipeline here, stops the
//! running one and waits for that thread to answer.

mod diff;
mod live;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use heka_ops::{ReloadChanges, ReloadOutcome};
use heka_pipeline::{Pipeline, PipelineHandle, Registry};

use crate::assemble::{Assembled, assemble, load_and_assemble};
use crate::config::{Config, Source};

pub use diff::{Fingerprints, Plan};

/// How long a request waits for a full restart to be answered: three drain phases of
/// the default 10 s, plus starting the new plugins.
const SWAP_WAIT: Duration = Duration::from_secs(90);

/// A configuration waiting for the running pipeline to stop (a full restart).
pub struct Pending {
    config: Config,
    assembled: Assembled,
    reply: SyncSender<ReloadOutcome>,
    /// Its plugins as read for the diff (the next left side).
    fingerprints: Fingerprints,
    /// The reply's account of the plugins.
    changes: ReloadChanges,
    /// Set when this is the previous configuration started again after a live change
    /// failed part-way: the error to answer.
    restoring: Option<String>,
}

struct Slot {
    /// The running pipeline's handle (None between stop and start).
    handle: Option<PipelineHandle>,
    pending: Option<Pending>,
    /// hekad is stopping: reloads are refused.
    stopping: bool,
    /// The running configuration (its files as read: SIGHUP's "did it change").
    config: Config,
    /// Its plugins as they were when it started (the diff's left side).
    fingerprints: Fingerprints,
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
                fingerprints: Fingerprints::of(config),
                config: config.clone(),
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
    /// until the new configuration runs or the attempt failed. `if_changed` (SIGHUP):
    /// a configuration whose files read the same as the running one's is not applied.
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
        let next = Fingerprints::of(&config);
        let mut slot = self.slot();
        if if_changed && same_files(&slot.config.sources, &config.sources) {
            tracing::info!(config = %self.path.display(), "reload: the configuration files are unchanged; nothing to apply");
            return self.outcome(true, true, Vec::new());
        }
        let Some(handle) = slot.handle.clone().filter(|_| !slot.stopping) else {
            return self.outcome(false, true, vec!["hekad is stopping".into()]);
        };
        let plan = slot.fingerprints.plan(&next);
        if let Some(reason) = &plan.full_restart {
            tracing::info!(config = %self.path.display(), %reason, "reload: the new configuration is valid but cannot be applied live; restarting every plugin");
            let changes = full_restart_changes(&slot.fingerprints, &next, reason);
            let (reply, answer) = sync_channel(1);
            slot.pending = Some(Pending {
                config,
                assembled,
                fingerprints: next,
                reply,
                changes,
                restoring: None,
            });
            handle.shutdown();
            drop(slot);
            return self.wait_for_swap(answer);
        }
        // The live change runs without the slot held: SIGTERM may come meanwhile.
        drop(slot);
        self.apply_live(&handle, config, assembled, next, plan)
    }

    fn wait_for_swap(&self, answer: Receiver<ReloadOutcome>) -> ReloadOutcome {
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

    /// A full restart: starts the pending configuration (or, if it cannot start, the
    /// previous one again) in the registry; answers the request. Err: neither could
    /// start.
    pub fn apply(&self, pending: Pending) -> Result<Pipeline, String> {
        let Pending {
            config,
            assembled,
            fingerprints,
            reply,
            changes,
            restoring,
        } = pending;
        self.registry
            .begin_generation(&|name| assembled.has_plugin(name));
        match assembled.start_in(self.registry.clone()) {
            Ok(pipeline) => {
                self.started(&pipeline);
                let outcome = match restoring {
                    Some(error) => {
                        crate::ops::record_type_names(&config, &self.registry);
                        tracing::error!("reload: {error}");
                        self.outcome(false, true, vec![error])
                    }
                    None => {
                        self.succeeded(config, fingerprints, "every plugin restarted");
                        self.outcome_with(changes)
                    }
                };
                let _ = reply.send(outcome);
                Ok(pipeline)
            }
            Err(error) => {
                let text = format!(
                    "the new configuration could not start: {error}; the previous one runs again"
                );
                tracing::error!("reload: {text}");
                self.failed(std::slice::from_ref(&text));
                let restarted = self.restart();
                let _ = reply.send(self.outcome(false, true, vec![text]));
                restarted
            }
        }
    }

    /// Builds and starts the running configuration again (the previous one).
    fn restart(&self) -> Result<Pipeline, String> {
        let config = self.slot().config.clone();
        let assembled = assemble(&config).map_err(|e| e.to_string())?;
        self.registry
            .begin_generation(&|name| assembled.has_plugin(name));
        let pipeline = assembled
            .start_in(self.registry.clone())
            .map_err(|e| e.to_string())?;
        crate::ops::record_type_names(&config, &self.registry);
        self.started(&pipeline);
        Ok(pipeline)
    }

    /// `config` runs now: counters, generation, the diff's new left side.
    fn succeeded(&self, config: Config, fingerprints: Fingerprints, how: &str) {
        crate::ops::record_type_names(&config, &self.registry);
        let c = &self.registry.config;
        c.generation.set(c.generation.get() + 1);
        c.reload_successes.inc();
        c.last_success_s
            .set(heka_pipeline::stats::wall_ns() as u64 / 1_000_000_000);
        if let Ok(mut last) = c.last_error.lock() {
            *last = None;
        }
        let mut slot = self.slot();
        slot.fingerprints = fingerprints;
        slot.config = config;
        tracing::info!(
            generation = c.generation.get(),
            "reload: the new configuration runs ({how})"
        );
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
            changes: None,
        }
    }

    /// A success, with what it did.
    fn outcome_with(&self, changes: ReloadChanges) -> ReloadOutcome {
        let mut outcome = self.outcome(true, true, Vec::new());
        outcome.changes = Some(changes);
        outcome
    }
}

/// A full restart's account: every running plugin stopped, every new one started.
fn full_restart_changes(old: &Fingerprints, new: &Fingerprints, reason: &str) -> ReloadChanges {
    ReloadChanges {
        started: new.names().map(str::to_owned).collect(),
        stopped: old.names().map(str::to_owned).collect(),
        full_restart: Some(reason.to_owned()),
        ..ReloadChanges::default()
    }
}

/// Whether two configurations were read from the same files with the same text.
fn same_files(a: &[Source], b: &[Source]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.path == b.path && a.text == b.text)
}
