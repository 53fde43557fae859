//! Disk buffering through the real binary: LogstreamerInput → log-aggregator.wasm →
//! HttpOutput (slack-encoder.wasm) with `use_buffering = true`, while the receiver is
//! down (connection refused, listener closed) for a while and lines keep arriving.
//!
//! Checked: nothing lost and nothing duplicated (no crash here), every line in the
//! order written once the receiver is back; during the outage the input keeps reading
//! (the disk queue under `base_dir/output_queue/HttpOutput` grows with the backlog)
//! and hekad's RSS (sampled from /proc/<pid>/status) stays bounded: it does not grow
//! with the backlog. hekad then stops cleanly on SIGTERM.
//!
//! `buffered_output_rides_out_an_outage` (default run): 10 s outage.
//! `buffered_output_rides_out_a_60s_outage` (`#[ignore]`):
//! `cargo test -p heka-e2e --test e2e buffered_output_rides_out_a_60s -- --ignored --nocapture`

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use heka_e2e::{Daemon, wait_for, write};

use crate::trials::receiver::{Mode, Receiver};

/// Lines per second, and their length (≈ 512 KB/s).
const RATE: u64 = 500;
const LINE_LEN: usize = 1024;

fn line(n: u64) -> String {
    let mut l = format!("buf {n:08} ");
    while l.len() < LINE_LEN - 1 {
        l.push_str("lorem ipsum ");
    }
    l.truncate(LINE_LEN - 1);
    l
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Appends lines at [`RATE`] for `time`, starting after `written`; calls `tick`
/// every 100 ms. Returns the new count.
fn write_for(log: &Path, mut written: u64, time: Duration, mut tick: impl FnMut()) -> u64 {
    let start = Instant::now();
    let base = written;
    let mut f = OpenOptions::new().append(true).open(log).expect("open log");
    let mut last_tick = Instant::now();
    while start.elapsed() < time {
        let due = base + start.elapsed().as_millis() as u64 * RATE / 1000;
        let mut text = String::new();
        while written < due {
            written += 1;
            text.push_str(&line(written));
            text.push('\n');
        }
        f.write_all(text.as_bytes()).expect("append");
        if last_tick.elapsed() >= Duration::from_millis(100) {
            tick();
            last_tick = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    written
}

fn run(outage: Duration) {
    let _heavy = crate::trials::heavy_lock();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    let log = logs.join("app.log");
    File::create(&log).unwrap();
    let base = dir.path().join("base");
    let receiver = Receiver::start(7);
    let config = format!(
        r#"
[hekad]
base_dir = "{base}"

[BufLog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'app\.log'

[Aggregator]
type = "SandboxFilter"
message_matcher = "Logger == 'BufLog'"
filename = "{filter}"
ticker_interval = 1
can_exit = false

[Aggregator.config]
# Its default (0 = no limit) lets a busy second exceed the 63 KiB output_limit.
max_bytes = 60000

[SlackEncoder]
type = "SandboxEncoder"
filename = "{encoder}"

[HttpOutput]
message_matcher = "Logger == 'Aggregator'"
address = "{url}"
encoder = "SlackEncoder"
use_buffering = true

[HttpOutput.retries]
delay = "100ms"
max_delay = "1s"
max_jitter = "100ms"

[HttpOutput.buffering]
max_file_size = 4194304
max_buffer_size = 1073741824
full_action = "block"
"#,
        base = base.display(),
        logs = logs.display(),
        filter = heka_guest_build::log_aggregator().display(),
        encoder = heka_guest_build::slack_encoder().display(),
        url = receiver.url(),
    );
    let cfg = write(dir.path(), "hekad.toml", &config);
    let mut daemon = Daemon::start(&cfg, dir.path());
    let pid = daemon.pid();
    let queue = base.join("output_queue").join("HttpOutput");

    // Warm up: 3 s of lines delivered normally; the RSS baseline is the highest
    // sample of its last second.
    let mut written = write_for(&log, 0, Duration::from_secs(2), || {});
    let mut baseline = 0;
    written = write_for(&log, written, Duration::from_secs(1), || {
        baseline = baseline.max(rss_kib(pid).unwrap_or(0));
    });

    // The outage.
    receiver.set_mode(Mode::Refuse);
    let outage_start = written;
    let mut outage_max = 0;
    let mut queue_max = 0;
    written = write_for(&log, written, outage, || {
        outage_max = outage_max.max(rss_kib(pid).unwrap_or(0));
        queue_max = queue_max.max(dir_bytes(&queue));
    });
    let outage_lines = written - outage_start;
    let outage_bytes = outage_lines * LINE_LEN as u64;
    let delivered_during_outage = receiver
        .accepted()
        .iter()
        .map(|a| a.lines.len())
        .sum::<usize>();

    // Back; lines keep coming for 2 s more, then every line must arrive.
    receiver.set_mode(Mode::Ok);
    let recovery = Instant::now();
    let mut after_max = 0;
    written = write_for(&log, written, Duration::from_secs(2), || {
        after_max = after_max.max(rss_kib(pid).unwrap_or(0));
    });
    let all = wait_for(Duration::from_secs(120), || {
        after_max = after_max.max(rss_kib(pid).unwrap_or(0));
        let got: usize = receiver.accepted().iter().map(|a| a.lines.len()).sum();
        (got as u64 >= written).then_some(())
    });
    let drained_in = recovery.elapsed();
    let got: Vec<String> = receiver
        .accepted()
        .into_iter()
        .flat_map(|a| a.lines)
        .collect();
    let report = || {
        format!(
            "written {written}, received {}; hekad log:\n{}",
            got.len(),
            daemon_log(dir.path())
        )
    };
    assert!(
        all.is_some(),
        "not every line arrived within 120 s: {}",
        report()
    );
    let want: Vec<String> = (1..=written).map(line).collect();
    assert!(
        got == want,
        "every line exactly once, in the order written: {}",
        report()
    );
    eprintln!(
        "buffering e2e: {written} lines ({} MB) written, {} during a {:?} outage ({} MB; {} lines \
         delivered before the receiver came back); disk queue peaked at {} MB; RSS baseline {} MB, max during the \
         outage {} MB, max after {} MB; backlog delivered {:.1} s after recovery",
        written * LINE_LEN as u64 / 1_000_000,
        outage_lines,
        outage,
        outage_bytes / 1_000_000,
        delivered_during_outage,
        queue_max / 1_000_000,
        baseline / 1024,
        outage_max / 1024,
        after_max / 1024,
        drained_in.as_secs_f64()
    );
    // The input kept reading: the backlog went to disk, not to memory.
    assert!(
        queue_max >= outage_bytes / 2,
        "disk queue peaked at {queue_max} bytes for {outage_bytes} bytes written during the outage"
    );
    let growth_kib = outage_max.saturating_sub(baseline);
    assert!(
        growth_kib * 1024 < (16 << 20).max(outage_bytes / 4),
        "RSS grew by {growth_kib} KiB during an outage of {outage_bytes} bytes: {}",
        report()
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait(Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", report());
}

fn daemon_log(dir: &Path) -> String {
    let text = fs::read_to_string(dir.join("hekad.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(40).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[test]
fn buffered_output_rides_out_an_outage() {
    run(Duration::from_secs(10));
}

#[test]
#[ignore = "long: a 60 s outage"]
fn buffered_output_rides_out_a_60s_outage() {
    run(Duration::from_secs(60));
}
