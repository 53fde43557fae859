//! `preserve_data` for wasm filters, with the `stateful` test guest (a message
//! counter that saves its count): the state survives a stop/start, a restore the
//! guest refuses fails the start naming the data file, a terminated plugin saves
//! nothing, and a plugin without state leaves no file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use heka_guest_build::testing;
use heka_pipeline::Filter;
use heka_sandbox::{SandboxError, WasmFilter};

fn data_file(dir: &Path) -> PathBuf {
    heka_pipeline::sandbox::SandboxSpec::preservation_file(dir, "Counter")
}

fn start(file: &Path) -> Result<WasmFilter, SandboxError> {
    let mut cfg = cfg("Counter");
    cfg.spec.preservation_file = Some(file.to_path_buf());
    heka_sandbox::load_filter(engine(), &testing::stateful(), cfg)
}

/// The count the filter reports on a timer event.
fn count(f: &mut WasmFilter) -> String {
    let mut ctx = common::ctx("Counter");
    ctx.begin_timer();
    f.timer_event(0, &mut ctx).unwrap();
    let out = ctx.take_injected();
    assert_eq!(out.len(), 1);
    String::from_utf8_lossy(out[0].payload()).into_owned()
}

#[test]
fn state_survives_a_stop_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = data_file(dir.path());
    assert!(file.ends_with("sandbox_preservation/Counter.data"));

    let mut f = start(&file).unwrap();
    f.process_batch(&packs(&["a", "b", "c"]), &mut common::ctx("Counter"))
        .unwrap();
    assert_eq!(count(&mut f), "count=3");
    f.shutdown();
    drop(f);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "3");

    let mut f = start(&file).unwrap();
    assert_eq!(count(&mut f), "count=3");
    f.process_batch(&packs(&["d"]), &mut common::ctx("Counter"))
        .unwrap();
    f.shutdown();
    let mut f = start(&file).unwrap();
    assert_eq!(count(&mut f), "count=4");
}

#[test]
fn a_refused_restore_fails_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = data_file(dir.path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "not a number").unwrap();
    let err = start(&file).expect_err("restore refused").to_string();
    assert!(err.contains("cannot restore preserved data"), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("not a count"), "{err}");
    assert!(err.contains("stateful.wasm"), "{err}");
}

#[test]
fn a_terminated_plugin_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = data_file(dir.path());
    let mut f = start(&file).unwrap();
    f.process_batch(&packs(&["a", "b"]), &mut common::ctx("Counter"))
        .unwrap();
    f.shutdown();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "2");

    let mut f = start(&file).unwrap();
    f.process_batch(&packs(&["c"]), &mut common::ctx("Counter"))
        .unwrap();
    let err = f
        .process_batch(&packs(&["fatal"]), &mut common::ctx("Counter"))
        .expect_err("fatal");
    assert!(err.to_string().contains("asked to die"), "{err}");
    f.shutdown();
    // The file still holds the last clean shutdown's state.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "2");
}

#[test]
fn a_plugin_without_state_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = heka_pipeline::sandbox::SandboxSpec::preservation_file(dir.path(), "Agg");
    let mut cfg = cfg("Agg");
    cfg.spec.preservation_file = Some(file.clone());
    let mut f =
        heka_sandbox::load_filter(engine(), &heka_guest_build::log_aggregator(), cfg).unwrap();
    f.process_batch(&packs(&["x\n"]), &mut common::ctx("Agg"))
        .unwrap();
    f.shutdown();
    assert!(!file.exists());
}
