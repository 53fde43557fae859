//! A reload applied live: the [`Plan`] of `diff.rs` turned into a
//! [`heka_pipeline::Change`] of the running pipeline (only the plugins started or
//! replaced are taken from the new build; the new instances of kept plugins are
//! dropped unused), and the answer saying what happened.

use std::collections::HashSet;
use std::sync::mpsc::sync_channel;

use heka_ops::{ReloadChanges, ReloadOutcome};
use heka_pipeline::{Applied, ApplyError, Change, PipelineHandle};

use super::{Fingerprints, Pending, Plan, Reloader};
use crate::assemble::{Assembled, assemble};
use crate::config::Config;

impl Reloader {
    /// Applies `plan` (from the running configuration to `config`) to the running
    /// pipeline and answers.
    pub(super) fn apply_live(
        &self,
        handle: &PipelineHandle,
        config: Config,
        assembled: Assembled,
        fingerprints: Fingerprints,
        plan: Plan,
    ) -> ReloadOutcome {
        let keep = plugin_names(&assembled);
        // The stats entries before the change: a refused one leaves only these.
        let before: HashSet<String> = self
            .registry
            .plugins()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        let applied = if plan.is_empty() {
            Ok(Applied::default())
        } else {
            tracing::info!(started = ?plan.added, stopped = ?plan.removed, replaced = ?plan.replaced, kept = ?plan.kept, "reload: the new configuration is valid; applying it live");
            handle.apply(change(assembled, &plan))
        };
        match applied {
            Ok(applied) => {
                // The stats of removed plugins go.
                self.keep_stats(&keep);
                for warning in &applied.warnings {
                    tracing::warn!(%warning, "reload");
                }
                let changes = changes(&plan, &applied);
                self.succeeded(config, fingerprints, &summary(&changes, &applied));
                self.outcome_with(changes)
            }
            Err(ApplyError::Stopping) => {
                self.outcome(false, true, vec!["hekad is stopping".into()])
            }
            Err(ApplyError::Refused(error)) => {
                // The stats entries made for the plugins that did not start go.
                self.keep_stats(&before);
                let text = format!(
                    "the new configuration could not start: {error}; the running configuration stays as it was"
                );
                tracing::error!("reload: {text}");
                self.failed(std::slice::from_ref(&text));
                self.outcome(false, true, vec![text])
            }
            Err(ApplyError::Broken(error)) => self.restore(handle, &error.to_string()),
        }
    }

    /// Drops the stats entries of plugins not in `keep`; readiness stays as it was.
    fn keep_stats(&self, keep: &HashSet<String>) {
        let stopping = self.registry.stopping();
        self.registry.begin_generation(&|name| keep.contains(name));
        self.registry.set_started(true);
        if stopping {
            self.registry.set_stopping();
        }
    }

    /// A live change failed part-way: the previous configuration is started again
    /// (a full restart), and the request answered with `error`.
    fn restore(&self, handle: &PipelineHandle, error: &str) -> ReloadOutcome {
        let text = format!(
            "the new configuration could not start: {error}; the previous configuration was started again"
        );
        self.failed(std::slice::from_ref(&text));
        let mut slot = self.slot();
        let previous = slot.config.clone();
        let assembled = match assemble(&previous) {
            Ok(assembled) => assembled,
            Err(again) => {
                let text = format!("{text}, but it no longer builds: {again}");
                tracing::error!("reload: {text}");
                return self.outcome(false, true, vec![text]);
            }
        };
        let (reply, answer) = sync_channel(1);
        slot.pending = Some(Pending {
            fingerprints: slot.fingerprints.clone(),
            config: previous,
            assembled,
            reply,
            changes: ReloadChanges::default(),
            restoring: Some(text),
        });
        handle.shutdown();
        drop(slot);
        self.wait_for_swap(answer)
    }
}

/// The change that turns the running pipeline into `assembled`'s, per `plan`.
fn change(assembled: Assembled, plan: &Plan) -> Change {
    let mut change = Change::new();
    for name in plan.removed.iter().chain(&plan.replaced) {
        change.remove(name);
    }
    let starts = |name: &String| plan.added.contains(name) || plan.replaced.contains(name);
    for (name, plugin, options) in assembled.inputs {
        if starts(&name) {
            change.add_input(&name, plugin, options);
        }
    }
    for (name, plugin, options) in assembled.filters {
        if starts(&name) {
            let take_state = plan.carried.contains(&name);
            change.add_filter(&name, plugin, options, take_state);
        }
    }
    for (name, plugin, options) in assembled.outputs {
        if starts(&name) {
            change.add_output(&name, plugin, options);
        }
    }
    change
}

/// Every name whose stats belong to the new configuration (plugins and the decoder
/// and encoder sections they use), as `Assembled::has_plugin` says.
fn plugin_names(assembled: &Assembled) -> HashSet<String> {
    let mut names = HashSet::new();
    for (name, _, options) in &assembled.inputs {
        names.insert(name.clone());
        names.extend(options.decoder_section.as_ref().map(|s| s.0.clone()));
    }
    names.extend(assembled.filters.iter().map(|(name, ..)| name.clone()));
    for (name, _, options) in &assembled.outputs {
        names.insert(name.clone());
        names.extend(options.encoder_section.as_ref().map(|s| s.0.clone()));
    }
    names
}

/// The reply's account of a live change.
fn changes(plan: &Plan, applied: &Applied) -> ReloadChanges {
    ReloadChanges {
        started: plan.added.clone(),
        stopped: plan.removed.clone(),
        replaced: plan.replaced.clone(),
        kept: plan.kept.clone(),
        state_carried: applied.carried.clone(),
        full_restart: None,
        warnings: applied.warnings.clone(),
    }
}

/// One line for the log.
fn summary(changes: &ReloadChanges, applied: &Applied) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    format!(
        "live in {} ms: started {}; stopped {}; replaced {}; kept {}; state carried {}",
        applied.took.as_millis(),
        list(&changes.started),
        list(&changes.stopped),
        list(&changes.replaced),
        list(&changes.kept),
        list(&changes.state_carried)
    )
}
