//! Limits and hostile guests: each stops its own plugin with a clear reason while
//! another sandbox in the same process (same engine) keeps working; the component
//! cache answers a second load.

mod common;

use std::time::Duration;

use common::*;
use heka_guest_build::testing;
use heka_pipeline::{Filter, PluginError};
use heka_sandbox::{SandboxEngine, SandboxError};

/// A healthy filter on the same engine still works after a hostile one died.
fn assert_neighbour_works() {
    let mut agg = heka_sandbox::load_filter(
        engine(),
        &heka_guest_build::log_aggregator(),
        cfg("Neighbour"),
    )
    .unwrap();
    let mut ctx = common::ctx("Neighbour");
    agg.process_batch(&packs(&["still\n", "alive\n"]), &mut ctx)
        .unwrap();
    ctx.begin_timer();
    agg.timer_event(1, &mut ctx).unwrap();
    assert_eq!(ctx.take_injected()[0].payload(), b"still\nalive\n");
}

fn fatal_reason(r: Result<(), PluginError>) -> String {
    match r {
        Err(PluginError::Fatal(reason)) => {
            println!("fatal: {reason}");
            reason
        }
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

#[test]
fn infinite_loop_hits_instruction_limit() {
    let mut f =
        heka_sandbox::load_filter(engine(), &testing::infinite_loop(), cfg("Loop")).unwrap();
    let reason = fatal_reason(f.process_batch(&packs(&["x"]), &mut common::ctx("Loop")));
    assert!(reason.starts_with("instruction_limit exceeded"), "{reason}");
    // Terminated for good: later calls fail at once with the same reason.
    let again = fatal_reason(f.process_batch(&packs(&["x"]), &mut common::ctx("Loop")));
    assert!(again.contains("instruction_limit exceeded"), "{again}");
    assert_neighbour_works();
}

#[test]
fn infinite_loop_without_instruction_limit_hits_wall_clock_cap() {
    let mut c = cfg("Loop");
    c.spec.limits.instruction_limit = 0;
    c.call_time_limit = Duration::from_millis(200);
    let mut f = heka_sandbox::load_filter(engine(), &testing::infinite_loop(), c).unwrap();
    let reason = fatal_reason(f.process_batch(&packs(&["x"]), &mut common::ctx("Loop")));
    assert_eq!(reason, "call_time_limit exceeded (200 ms per call)");
    assert_neighbour_works();
}

#[test]
fn unbounded_allocation_hits_memory_limit() {
    let mut f =
        heka_sandbox::load_filter(engine(), &testing::unbounded_alloc(), cfg("Hog")).unwrap();
    let reason = fatal_reason(f.process_batch(&packs(&["x"]), &mut common::ctx("Hog")));
    assert_eq!(reason, "memory_limit exceeded (8388608 bytes)");
    assert_neighbour_works();
}

#[test]
fn output_flood_hits_output_limit_even_when_the_guest_ignores_errors() {
    let mut f =
        heka_sandbox::load_filter(engine(), &testing::output_flood(), cfg("Flood")).unwrap();
    let mut ctx = common::ctx("Flood");
    let reason = fatal_reason(f.process_batch(&packs(&["x"]), &mut ctx));
    assert_eq!(reason, "output_limit exceeded (64512 bytes)");
    assert!(ctx.take_injected().is_empty());
    assert_neighbour_works();
}

#[test]
fn panic_is_a_trap_with_the_panic_message() {
    let mut f = heka_sandbox::load_filter(engine(), &testing::panic(), cfg("Panicky")).unwrap();
    let mut ctx = common::ctx("Panicky");
    let reason = fatal_reason(f.process_batch(&packs(&["ok", "panic", "never"]), &mut ctx));
    assert!(reason.starts_with("trap: "), "{reason}");
    assert!(reason.contains("guest panicked on purpose"), "{reason}");
    assert_neighbour_works();
}

#[test]
fn forbidden_import_fails_at_load_naming_the_import() {
    let err = heka_sandbox::load_filter(engine(), &testing::forbidden_import(), cfg("Spy"))
        .expect_err("must fail");
    assert!(matches!(err, SandboxError::Instantiate { .. }), "{err}");
    let text = err.to_string();
    println!("load error: {text}");
    assert!(text.contains("test:evil/spy"), "{text}");
    assert_neighbour_works();
}

#[test]
fn memory_limit_is_configurable() {
    let mut c = cfg("Hog");
    c.spec.limits.memory_limit = 4 * 1024 * 1024;
    let mut f = heka_sandbox::load_filter(engine(), &testing::unbounded_alloc(), c).unwrap();
    let reason = fatal_reason(f.process_batch(&packs(&["x"]), &mut common::ctx("Hog")));
    assert_eq!(reason, "memory_limit exceeded (4194304 bytes)");
}

#[test]
fn instruction_budget_scales_with_the_batch() {
    // 1,000 instructions × 10 fuel per message is plenty for the aggregator...
    let mut c = cfg("Agg");
    c.spec.limits.instruction_limit = 1_000;
    let mut f =
        heka_sandbox::load_filter(engine(), &heka_guest_build::log_aggregator(), c).unwrap();
    let payloads: Vec<String> = (0..500)
        .map(|i| {
            format!("line {i} of a typical log record, about a hundred bytes long ............\n")
        })
        .collect();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    f.process_batch(&packs(&refs), &mut common::ctx("Agg"))
        .unwrap();
    let per_message = f.engine().last_fuel_used() / refs.len() as u64;
    println!(
        "log-aggregator: {per_message} fuel per message of ~{} bytes",
        refs[0].len()
    );
    assert!(per_message < 1_000 * 10);
    // ...but 10 instructions per message is not.
    let mut c = cfg("Agg");
    c.spec.limits.instruction_limit = 10;
    let mut f =
        heka_sandbox::load_filter(engine(), &heka_guest_build::log_aggregator(), c).unwrap();
    let reason = fatal_reason(f.process_batch(&packs(&refs), &mut common::ctx("Agg")));
    assert!(reason.starts_with("instruction_limit exceeded"), "{reason}");
}

#[test]
fn component_cache_hits_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = heka_guest_build::log_aggregator();
    let first = SandboxEngine::new(Some(dir.path())).unwrap();
    first.load(&path).unwrap();
    assert_eq!(first.stats().compiled, 1);
    first.load(&path).unwrap();
    assert_eq!(first.stats().memory_hits, 1);
    assert_eq!(first.stats().compiled, 1);
    drop(first);

    // A "restart": a new engine finds the compiled component on disk.
    let second = SandboxEngine::new(Some(dir.path())).unwrap();
    let loaded = second.load(&path).unwrap();
    let stats = second.stats();
    assert_eq!((stats.compiled, stats.disk_hits), (0, 1), "{stats:?}");
    // And it runs.
    let mut f = heka_sandbox::new_filter(&second, &loaded, cfg("Agg")).unwrap();
    let mut ctx = common::ctx("Agg");
    f.process_batch(&packs(&["x\n"]), &mut ctx).unwrap();
}

#[test]
fn garbage_is_a_compile_error_not_a_panic() {
    let err = engine()
        .load_bytes(b"definitely not wasm", "junk.wasm")
        .err()
        .expect("must fail");
    assert!(matches!(err, SandboxError::Compile { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("junk.wasm: not a valid WebAssembly component"),
        "{err}"
    );
}

/// The sandbox gauges (docs/sandbox.md, "What a sandbox reports"): attached stats
/// get the limits at once and the memory, largest output and budget share after a call.
#[test]
fn a_sandbox_filter_reports_its_gauges_after_each_call() {
    use heka_pipeline::stats::{Engine, PluginKind, Registry};
    let mut c = cfg("Gauges");
    c.spec.limits.memory_limit = 16 << 20;
    c.spec.limits.output_limit = 1000;
    let mut f = heka_sandbox::load_filter(engine(), &testing::output_flood(), c).unwrap();
    let registry = Registry::new();
    let stats = registry.plugin("Gauges", PluginKind::Filter);
    f.attach_stats(&stats);
    let sandbox = stats.sandbox();
    assert_eq!(sandbox.engine(), Some(Engine::Wasm));
    assert_eq!(sandbox.memory_limit_bytes.get(), 16 << 20);
    assert_eq!(sandbox.output_limit_bytes.get(), 1000);
    assert_eq!(
        sandbox.memory_bytes.get(),
        0,
        "nothing recorded before a call"
    );
    // The flood breaks output_limit: the call still reports what it used.
    let _ = f.process_batch(&packs(&["x"]), &mut common::ctx("Gauges"));
    assert!(sandbox.memory_bytes.get() > 0, "linear memory is reported");
    assert!(sandbox.memory_max_bytes.get() >= sandbox.memory_bytes.get());
    assert!(sandbox.call_budget_max_ratio.get() > 0.0, "fuel was spent");
}

/// Sandbox decoders and encoders report the same gauges as filters, into their
/// section's stats entry (made when they take it), with messages in, out and failed.
#[test]
fn sandbox_decoders_and_encoders_report_their_gauges() {
    use heka_pipeline::stats::{Engine, PluginKind, PluginState, Registry, section_stats};
    use heka_pipeline::{Decoder, Encoder};
    let registry = Registry::new();
    let mut d =
        heka_sandbox::load_decoder(engine(), &testing::probe_decoder(), cfg("Dec")).unwrap();
    d.attach_stats(&|| section_stats(&registry, "Dec", "SandboxDecoder", PluginKind::Decoder));
    let mut e =
        heka_sandbox::load_encoder(engine(), &testing::probe_encoder(), cfg("Enc")).unwrap();
    e.attach_stats(&|| section_stats(&registry, "Enc", "SandboxEncoder", PluginKind::Encoder));
    let (dec, enc) = (registry.find("Dec").unwrap(), registry.find("Enc").unwrap());
    for (stats, kind, type_name) in [
        (&dec, PluginKind::Decoder, "SandboxDecoder"),
        (&enc, PluginKind::Encoder, "SandboxEncoder"),
    ] {
        assert_eq!(
            (stats.kind(), stats.type_name(), stats.state()),
            (kind, type_name, PluginState::Running)
        );
        assert_eq!(stats.sandbox().engine(), Some(Engine::Wasm));
        assert_eq!(stats.sandbox().memory_limit_bytes.get(), 8 << 20);
        assert_eq!(stats.sandbox().memory_bytes.get(), 0, "no call yet");
    }

    let mut out = Vec::new();
    d.decode(msg("split a b c"), None, &mut out).unwrap();
    let mut bytes = Vec::new();
    e.encode(&msg("hello"), &mut bytes).unwrap();
    for stats in [&dec, &enc] {
        let sandbox = stats.sandbox();
        assert!(sandbox.memory_bytes.get() > 0, "{}", stats.name());
        assert!(sandbox.memory_max_bytes.get() >= sandbox.memory_bytes.get());
        assert!(sandbox.output_max_bytes.get() > 0, "{}", stats.name());
        assert!(
            sandbox.call_budget_max_ratio.get() > 0.0,
            "{}",
            stats.name()
        );
        assert_eq!(stats.received_messages.get(), 1, "{}", stats.name());
    }
    assert_eq!(
        dec.sent_messages.get(),
        3,
        "three messages decoded from one"
    );
    assert_eq!(enc.sent_messages.get(), 1);
}
