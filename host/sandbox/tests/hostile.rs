//! Bounded time: the hostile guests of `guest-plugins/testing/hostile` that try to
//! wait, recurse, trap or loop in `init` are stopped at once with a reason naming what
//! they did, and a call that loops past the shutdown is cut within
//! `SHUTDOWN_CALL_LIMIT`. The suite against the real hekad is
//! `tests/tests/e2e/hostile.rs`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use heka_pipeline::{Filter, PluginError};
use heka_sandbox::{ConfigValue, SandboxConfig, SandboxEngine, SandboxError};

fn hostile() -> PathBuf {
    heka_guest_build::plugin_path("hostile")
}

fn mode(name: &str, mode: &str) -> SandboxConfig {
    cfg(name).with_config("mode", ConfigValue::String(mode.into()))
}

/// The fatal reason of one batch of `payloads` through a `mode` guest.
fn run(mode_name: &str, c: SandboxConfig) -> String {
    let mut f = heka_sandbox::load_filter(engine(), &hostile(), c).expect("load");
    let mut ctx = ctx(mode_name);
    // Alive before the attack.
    f.process_batch(&packs(&["healthy"]), &mut ctx)
        .expect("a healthy message passes");
    match f.process_batch(&packs(&["attack"]), &mut ctx) {
        Err(PluginError::Fatal(reason)) => {
            println!("{mode_name}: {reason}");
            reason
        }
        other => panic!("{mode_name}: expected a fatal error, got {other:?}"),
    }
}

#[test]
fn sleeping_guest_is_refused_at_once_naming_the_import() {
    let reason = run("sleep", mode("Sleeper", "sleep"));
    assert!(
        reason.starts_with("blocking WASI call wasi:io/poll.") && reason.contains("refused"),
        "{reason}"
    );
}

#[test]
fn polling_guest_is_refused_at_once_naming_the_import() {
    let reason = run("poll", mode("Poller", "poll"));
    assert!(
        reason.starts_with("blocking WASI call wasi:io/poll.poll refused"),
        "{reason}"
    );
}

#[test]
fn sleep_is_refused_even_without_any_wall_clock_cap() {
    // Nothing else would stop it: no instruction limit, no wall-clock cap.
    let mut c = mode("Sleeper", "sleep");
    c.spec.limits.instruction_limit = 0;
    c.call_time_limit = Duration::ZERO;
    let reason = run("sleep", c);
    assert!(reason.contains("refused"), "{reason}");
}

#[test]
fn deep_recursion_is_a_stack_overflow_trap() {
    let reason = run("recurse", mode("Recurser", "recurse"));
    assert!(reason.starts_with("trap: "), "{reason}");
    assert!(reason.contains("stack"), "{reason}");
}

#[test]
fn unreachable_is_a_trap() {
    let reason = run("trap", mode("Trapper", "trap"));
    assert!(reason.starts_with("trap: "), "{reason}");
    assert!(reason.contains("unreachable"), "{reason}");
}

#[test]
fn a_loop_in_init_fails_the_load_with_the_instruction_limit() {
    match heka_sandbox::load_filter(engine(), &hostile(), mode("InitLoop", "init-loop")) {
        Err(SandboxError::Init { reason, .. }) => {
            assert!(reason.contains("instruction_limit exceeded"), "{reason}")
        }
        Err(e) => panic!("expected an init error, got {e}"),
        Ok(_) => panic!("a plugin that loops in init must not load"),
    }
}

#[test]
fn a_loop_without_limits_is_stopped_once_the_engine_stops_calls() {
    // Its own engine: stopping calls must not touch the other tests' sandboxes.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let engine = SandboxEngine::new(Some(&dir)).expect("engine");
    let mut c = mode("Spinner", "loop");
    c.spec.limits.instruction_limit = 0;
    c.call_time_limit = Duration::ZERO;
    let mut f = heka_sandbox::load_filter(&engine, &hostile(), c).expect("load");
    let stopper = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.stop_calls();
        })
    };
    // Without the stop this call would never return.
    let result = f.process_batch(&packs(&["attack"]), &mut ctx("Spinner"));
    stopper.join().expect("stopper thread");
    match result {
        Err(PluginError::Fatal(reason)) => {
            assert!(reason.starts_with("stopped at shutdown"), "{reason}")
        }
        other => panic!("expected a fatal error, got {other:?}"),
    }
    // A later call on a healthy sandbox of the stopped engine still runs (a final
    // timer event, a drain): only its time is capped.
    let mut healthy =
        heka_sandbox::load_filter(&engine, &hostile(), mode("Healthy", "none")).expect("load");
    healthy
        .process_batch(&packs(&["healthy"]), &mut ctx("Healthy"))
        .expect("a short call after the stop runs");
}
