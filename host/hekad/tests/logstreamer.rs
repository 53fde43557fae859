//! LogstreamerInput in a real pipeline on real files: message fields, journals
//! advanced by acknowledged delivery, restart after rotation while stopped (every
//! line exactly once), and an over-long line skipped with the stream going on.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heka_message::{Matcher, Message};
use heka_pipeline::splitters::TokenSplitter;
use heka_pipeline::{
    ExitStatus, InputOptions, Output, OutputError, OutputOptions, PipelineBuilder, Settings,
    SplitOptions, Splitter,
};
use heka_tail::{DiscoveryConfig, TailOptions};
use hekad::plugins::inputs::logstreamer::LogstreamerInput;

#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<Message>>>);

impl Output for Collected {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        self.0.lock().unwrap().push(msg.clone());
        Ok(())
    }
}

impl Collected {
    fn payloads(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
            .collect()
    }
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.0.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "timed out: {} of {n}: {:?}",
                self.0.lock().unwrap().len(),
                self.payloads()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Runs a pipeline with one LogstreamerInput over `dir` until `n` messages arrived,
/// then stops it cleanly and returns the payloads.
fn run_until(dir: &Path, journals: &Path, n: usize, max_record: usize) -> Vec<Message> {
    let out = Collected::default();
    let input = LogstreamerInput::new(
        DiscoveryConfig {
            log_directory: dir.to_path_buf(),
            file_match: r"access\.log\.?(?P<Seq>\d*)".into(),
            priority: vec!["^Seq".into()],
            default_stream: "web".into(),
            ..Default::default()
        },
        TailOptions {
            journal_directory: journals.to_path_buf(),
            idle_check: Duration::from_millis(50),
            rotate_grace: Duration::from_millis(20),
            ..TailOptions::default()
        },
        Some("logbox".into()),
    );
    let mut b = PipelineBuilder::new(Settings {
        hostname: "hekad-host".into(),
        ..Settings::default()
    });
    b.add_input(
        "nginx",
        Box::new(input),
        InputOptions::new(
            Arc::new(|| Box::new(TokenSplitter::lines()) as Box<dyn Splitter>),
            SplitOptions {
                max_record_size: max_record,
                ..SplitOptions::default()
            },
        ),
    );
    b.add_output(
        "out",
        Box::new(out.clone()),
        OutputOptions::new(Matcher::parse("TRUE").unwrap()),
    );
    let pipeline = b.start().unwrap();
    out.wait_for(n);
    // Give a replayed line (a bug) the chance to show up.
    std::thread::sleep(Duration::from_millis(100));
    pipeline.shutdown();
    assert_eq!(pipeline.wait(), ExitStatus::Clean);
    out.0.lock().unwrap().clone()
}

fn append(path: &Path, range: std::ops::Range<usize>) {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in range {
        writeln!(f, "line {i}").unwrap();
    }
}

fn lines(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("line {i}\n")).collect()
}

#[test]
fn fields_journal_and_restart_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 0..20);
    let got = run_until(dir.path(), journals.path(), 20, 65536);
    let payloads: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();
    assert_eq!(payloads, lines(0..20));
    let m = &got[0];
    assert_eq!(m.logger.as_deref(), Some("web"));
    assert_eq!(m.r#type.as_deref(), Some("logfile"));
    assert_eq!(m.hostname.as_deref(), Some("logbox"));
    // The journal is at the end of what was delivered, in Heka's format.
    let j: serde_json::Value =
        serde_json::from_slice(&fs::read(journals.path().join("web")).unwrap()).unwrap();
    assert_eq!(j["seek"], fs::metadata(&log).unwrap().len());
    assert_eq!(
        j["file_name"],
        log.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(j["last_hash"].as_str().unwrap().len(), 40);

    // Stopped: appends, a rename rotation, more lines. Restart: each line once.
    append(&log, 20..25);
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 25..30);
    let got = run_until(dir.path(), journals.path(), 10, 65536);
    let payloads: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();
    assert_eq!(payloads, lines(20..30));
}

#[test]
fn over_long_line_is_skipped_and_stream_continues() {
    let dir = tempfile::tempdir().unwrap();
    let journals = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 0..2);
    fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(format!("{}\n", "x".repeat(5000)).as_bytes())
        .unwrap();
    append(&log, 2..4);
    let got = run_until(dir.path(), journals.path(), 4, 1024);
    let payloads: Vec<String> = got
        .iter()
        .map(|m| String::from_utf8_lossy(m.payload()).into_owned())
        .collect();
    assert_eq!(payloads, lines(0..4));
}
