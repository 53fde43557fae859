//! Changes that cannot be applied: refused before anything is touched, broken
//! part-way, or asked for while the pipeline stops.

use super::*;

/// An added output that cannot start (its disk buffer cannot be made): the change is
/// refused before anything is touched, and the pipeline runs on as it was.
#[test]
fn a_change_that_cannot_start_leaves_the_pipeline_as_it_was() {
    let (feed, rx) = crossbeam_channel::unbounded();
    let acks = Arc::new(AckLog::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let mut builder = PipelineBuilder::new(Settings::default());
    let input = FeedInput {
        feed: rx,
        acks,
        runs: runs.clone(),
    };
    builder.add_input("feed", Box::new(input), input_options());
    let (got, plugin, options) = output("TRUE");
    builder.add_output("out", plugin, options);
    let pipeline = builder.start().expect("start");

    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let (_, plugin, mut options) = output("TRUE");
    options.buffering = Some(heka_pipeline::BufferOptions::new(&not_a_dir));
    let mut change = Change::new();
    change.remove("out").add_output("buffered", plugin, options);
    let refused = pipeline.stop_handle().apply(change);
    assert!(
        matches!(refused, Err(heka_pipeline::ApplyError::Refused(_))),
        "{refused:?}"
    );
    // `out` was not removed: it still receives.
    for n in 1..=5 {
        feed.send(n).unwrap();
    }
    eventually("five delivered", || got.len() == 5);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), heka_pipeline::ExitStatus::Clean);
}

/// A replacement output that cannot start once its predecessor is gone: the change
/// is reported broken (the caller restarts from a known configuration), and the
/// pipeline still stops cleanly.
#[test]
fn a_replacement_that_cannot_start_is_reported_broken() {
    let mut builder = PipelineBuilder::new(Settings::default());
    let (_, plugin, options) = output("TRUE");
    builder.add_output("out", plugin, options);
    let pipeline = builder.start().expect("start");
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let (_, plugin, mut options) = output("TRUE");
    options.buffering = Some(heka_pipeline::BufferOptions::new(&not_a_dir));
    let mut change = Change::new();
    change.remove("out").add_output("out", plugin, options);
    let broken = pipeline.stop_handle().apply(change);
    assert!(
        matches!(broken, Err(heka_pipeline::ApplyError::Broken(_))),
        "{broken:?}"
    );
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), heka_pipeline::ExitStatus::Clean);
}

#[test]
fn a_change_while_stopping_is_refused() {
    let mut builder = PipelineBuilder::new(Settings::default());
    let (_, plugin, options) = output("TRUE");
    builder.add_output("out", plugin, options);
    let pipeline = builder.start().expect("start");
    let handle = pipeline.stop_handle();
    pipeline.shutdown();
    let mut change = Change::new();
    change.remove("out");
    assert!(matches!(
        handle.apply(change),
        Err(heka_pipeline::ApplyError::Stopping)
    ));
    pipeline.wait();
}
