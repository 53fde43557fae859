//! Agent → aggregator over TCP through the real binary, with the aggregator killed:
//! an agent hekad (LogstreamerInput → TcpOutput, disk-buffered, `delivery_acks`)
//! ships log lines to an aggregator hekad (TcpInput with `delivery_acks` →
//! FileOutput). While lines are written the aggregator is SIGKILLed at random moments
//! and restarted on the same port.
//!
//! Checked: every line written reaches the aggregator's file (0 lost); no line appears
//! that was never written; the duplicates are at most, per kill, what the agent's
//! unacknowledged window can hold (`max_unacked` bytes, each message framed in more
//! than a line's bytes); both daemons stop with exit code 0 on SIGTERM.
//! The seed (`HEKA_TCP_SEED`) replays the kill schedule.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_e2e::lines::{Lines, seed_from_env};
use heka_e2e::{Daemon, free_port, wait_for, write};
use heka_fuzz::Rng;

/// Lines per second written to the agent's log.
const RATE: u64 = 1000;
/// Bytes of a line without its newline.
const LINE_LEN: usize = 100;
/// The agent's `max_unacked`.
const MAX_UNACKED: u64 = 65_536;

/// The trial's lines.
const LINES: Lines = Lines {
    prefix: "tcp",
    len: LINE_LEN,
};

fn agent_config(dir: &Path, logs: &Path, port: u16) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{base}"

[Logs]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'app\.log'

[Agg]
type = "TcpOutput"
message_matcher = "Logger == 'Logs'"
address = "127.0.0.1:{port}"
delivery_acks = true
ack_timeout = "5s"
max_unacked = {MAX_UNACKED}

[Agg.retries]
delay = "50ms"
max_delay = "500ms"
max_jitter = "50ms"
"#,
        base = dir.join("base").display(),
        logs = logs.display(),
    );
    write(dir, "hekad.toml", &text)
}

fn aggregator_config(dir: &Path, port: u16, out: &Path) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{base}"

[In]
type = "TcpInput"
address = "127.0.0.1:{port}"
delivery_acks = true

[PayloadEncoder]
# The lines keep their newline (TokenSplitter keeps delimiters, as in Heka).
append_newlines = false

[Out]
type = "FileOutput"
message_matcher = "Logger == 'Logs'"
path = "{out}"
encoder = "PayloadEncoder"
flush_interval = 0
"#,
        base = dir.join("base").display(),
        out = out.display(),
    );
    write(dir, "hekad.toml", &text)
}

/// How many times each line number appears in the aggregator's file.
fn received(out: &Path) -> Result<HashMap<u64, u32>, String> {
    let mut seen = HashMap::new();
    LINES.count(&fs::read_to_string(out).unwrap_or_default(), &mut seen)?;
    Ok(seen)
}

#[test]
fn agent_to_aggregator_over_tcp_survives_aggregator_kills() {
    let _heavy = crate::trials::heavy_lock();
    let seed = seed_from_env("HEKA_TCP_SEED");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let (agent_dir, agg_dir, logs) = (
        dir.path().join("agent"),
        dir.path().join("aggregator"),
        dir.path().join("logs"),
    );
    for d in [&agent_dir, &agg_dir, &logs] {
        fs::create_dir_all(d).unwrap();
    }
    let log_path = logs.join("app.log");
    let mut log = File::create(&log_path).unwrap();
    let out = agg_dir.join("out.log");
    let port = free_port();
    let agg_cfg = aggregator_config(&agg_dir, port, &out);
    let mut aggregator = Daemon::start(&agg_cfg, &agg_dir);
    let mut agent = Daemon::start(&agent_config(&agent_dir, &logs, port), &agent_dir);

    // 8 s of lines; the aggregator is killed 0.5-2 s after each start and comes back
    // 0.1-0.6 s later.
    let start = Instant::now();
    let mut written = 0;
    let mut kills = 0;
    let mut next_kill = start + Duration::from_millis(500 + rng.below(1500) as u64);
    let mut agg_logs = String::new();
    while start.elapsed() < Duration::from_secs(8) {
        written = LINES.write_due(&mut log, written, start, RATE);
        if Instant::now() >= next_kill {
            aggregator.signal(libc::SIGKILL);
            aggregator.wait(Duration::from_secs(10)).expect("killed");
            kills += 1;
            agg_logs.push_str(&aggregator.log_text());
            std::thread::sleep(Duration::from_millis(100 + rng.below(500) as u64));
            aggregator = Daemon::start(&agg_cfg, &agg_dir);
            next_kill = Instant::now() + Duration::from_millis(500 + rng.below(1500) as u64);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    written = LINES.write_due(&mut log, written, start, RATE);
    drop(log);

    let complete = wait_for(Duration::from_secs(60), || {
        let seen = received(&out).ok()?;
        (seen.len() as u64 >= written).then_some(())
    });
    let seen = received(&out);
    let (agent_log, agg_log) = (agent.log.clone(), aggregator.log.clone());
    let report = |what: &str| {
        format!(
            "{what} (seed {seed}, {kills} kills, {written} written)\nagent log:\n{}\naggregator logs:\n{agg_logs}{}",
            fs::read_to_string(&agent_log).unwrap_or_default(),
            fs::read_to_string(&agg_log).unwrap_or_default()
        )
    };
    let seen = seen.unwrap_or_else(|e| panic!("{}", report(&e)));
    let lost: Vec<u64> = (1..=written).filter(|n| !seen.contains_key(n)).collect();
    assert!(
        complete.is_some() && lost.is_empty(),
        "{}",
        report(&format!(
            "{} lines lost, first {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        ))
    );
    let duplicates: u64 = seen.values().map(|&c| u64::from(c) - 1).sum();
    let bound = kills * (MAX_UNACKED / LINE_LEN as u64 + 1);
    println!(
        "tcp agent → aggregator: seed {seed}, {written} lines, {kills} aggregator kills, 0 lost, {duplicates} duplicates (bound {bound})"
    );
    assert!(
        duplicates <= bound,
        "{}",
        report(&format!("{duplicates} duplicates > bound {bound}"))
    );

    agent.signal(libc::SIGTERM);
    let status = agent.wait(Duration::from_secs(30));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        report("agent did not stop cleanly")
    );
    aggregator.signal(libc::SIGTERM);
    let status = aggregator.wait(Duration::from_secs(30));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        report("aggregator did not stop cleanly")
    );
    let after = received(&out).unwrap_or_default();
    assert_eq!(
        after.values().map(|&c| u64::from(c)).sum::<u64>(),
        seen.values().map(|&c| u64::from(c)).sum::<u64>(),
        "{}",
        report("a clean stop sent lines again")
    );
}
