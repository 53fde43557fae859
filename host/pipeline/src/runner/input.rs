//! Input runner: one thread calling [`crate::Input::run`] with its [`InputContext`].
//!
//! The input itself reads, splits and delivers (routing happens in this thread, via
//! the context). When `run` returns the supervisor is told: an error terminates the
//! input (a `heka.terminated` message is routed), and either way an input with
//! `can_exit = false` that stops before hekad does brings hekad down, as in Heka.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::context::InputContext;
use crate::pack::Pack;
use crate::router::Router;
use crate::settings::Settings;
use crate::spec::{InputSpec, PipelineError};
use crate::stats::{PluginKind, PluginState};

use super::{Event, InputHandle, Shared, panic_reason, spawn as spawn_thread, terminated_message};

pub(crate) fn spawn(
    spec: InputSpec,
    settings: &Arc<Settings>,
    router: &Arc<Router>,
    shared: &Arc<Shared>,
) -> Result<InputHandle, PipelineError> {
    let InputSpec {
        name,
        mut plugin,
        options,
    } = spec;
    let name: Arc<str> = Arc::from(name);
    let stats = shared.registry.plugin(&name, PluginKind::Input);
    stats.set_state(PluginState::Running);
    let can_exit = options.can_exit;
    let hostname = options
        .hostname
        .clone()
        .unwrap_or_else(|| settings.hostname.clone());
    // Its own child of the input stop: a reload can stop this input alone.
    let stop = shared.input_stop.child();
    let mut ctx = InputContext {
        name: name.to_string(),
        hostname,
        stop: stop.clone(),
        router: router.clone(),
        settings: settings.clone(),
        options,
        stats: stats.clone(),
        registry: shared.registry.clone(),
    };
    let registry = shared.registry.clone();
    let settings = settings.clone();
    let router = router.clone();
    let shared_thread = shared.clone();
    let thread_name = name.clone();
    let thread = spawn_thread(format!("input-{name}"), move || {
        let name = thread_name;
        let result = catch_unwind(AssertUnwindSafe(|| plugin.run(&mut ctx)))
            .unwrap_or_else(|p| Err(panic_reason(p)));
        let stopping = ctx.stop.is_raised();
        drop(ctx);
        if result.is_ok() || stopping {
            stats.set_state(PluginState::Stopped);
        }
        match result {
            Ok(()) if stopping => tracing::debug!(input = %name, "input stopped"),
            // Typically "aborted": routing gave up because hekad is stopping.
            Err(err) if stopping => tracing::debug!(input = %name, error = %err, "input stopped"),
            Ok(()) => {
                tracing::info!(input = %name, "input finished");
                shared_thread.report(Event::Exited {
                    name,
                    can_exit,
                    error: None,
                });
            }
            Err(err) => {
                let reason = err.to_string();
                tracing::error!(input = %name, error = %reason, "input terminated");
                registry.terminated(&stats, &reason);
                router.route(Pack::new(
                    terminated_message(&settings, &name, &reason, false),
                    None,
                ));
                shared_thread.report(Event::Exited {
                    name,
                    can_exit,
                    error: Some(reason),
                });
            }
        }
    })?;
    Ok(InputHandle { name, stop, thread })
}
