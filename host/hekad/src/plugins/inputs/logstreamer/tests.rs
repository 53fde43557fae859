//! Tests of LogstreamerInput's config and of its sink's memory bound.

use super::*;

#[test]
fn config_defaults_and_unknown_keys() {
    let t: toml::Table = toml::from_str("file_match = 'a\\.log'").unwrap();
    let cfg: LogstreamerInputConfig = crate::config::from_table(&t).unwrap();
    assert_eq!(cfg.log_directory, "/var/log");
    assert_eq!(cfg.oldest_duration, "720h");
    assert_eq!(cfg.rescan_interval, "1m");
    let t: toml::Table = toml::from_str("file_match = 'x'\nbogus = 1").unwrap();
    assert!(crate::config::from_table::<LogstreamerInputConfig>(&t).is_err());
}

/// The module doc's bound: after their turns, N streams hold one read buffer (the
/// spare) and their partial records, not a read buffer each.
#[test]
fn idle_streams_keep_only_their_partial_records() {
    use heka_pipeline::splitters::TokenSplitter;
    use heka_pipeline::{InputOptions, Settings, SplitOptions};
    const STREAMS: usize = 100;
    let options = InputOptions::new(
        Arc::new(|| Box::new(TokenSplitter::new(b'\n', 1)) as Box<dyn heka_pipeline::Splitter>),
        SplitOptions::default(),
    );
    let (ctx, rx) = InputContext::collecting("files", Settings::default(), options);
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Sink {
        ctx: &ctx,
        hostname: "h".into(),
        streams: HashMap::new(),
        book: Arc::new(JournalBook::new(dir.path().to_path_buf())),
        next_ack: 0,
        failed: None,
        spare: Vec::new(),
    };
    let partial = "a line not finished yet";
    for id in 0..STREAMS {
        let name = format!("s{id}");
        sink.begin(id, &name, Path::new("/f"), 0, &[]);
        let data = format!("line one\nline two\n{partial}");
        let mut reader = io::Cursor::new(data.into_bytes());
        assert_eq!(sink.read(id, &mut reader).unwrap(), 18 + partial.len());
        sink.turn_over(id);
    }
    let mut delivered = 0;
    while rx.try_recv().is_ok() {
        delivered += 1;
    }
    assert_eq!(delivered, 2 * STREAMS);
    let held: usize = sink
        .streams
        .values()
        .map(|st| st.runner.buffer_capacity())
        .sum();
    assert_eq!(held, STREAMS * partial.len());
    assert_eq!(sink.spare.len(), READ_SIZE);
    // The partial records are completed by the next read, from the shared buffer.
    let mut reader = io::Cursor::new(b", now it is\n".to_vec());
    sink.read(7, &mut reader).unwrap();
    let pack = rx.try_recv().unwrap();
    assert_eq!(pack.msg.payload(), b"a line not finished yet, now it is\n");
}
