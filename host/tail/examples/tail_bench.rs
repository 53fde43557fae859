//! Throughput of the tailer: generates a log file (default 1024 MB), times `wc -l`
//! on it, then tails it with `heka-tail` + a `TokenSplitter` `SplitRunner` into a
//! null sink (records counted, journal hash window kept per chunk as the
//! LogstreamerInput does), and prints lines/s, MB/s and the ratio to `wc -l`.
//!
//! ```sh
//! cargo run --release -p heka-tail --example tail_bench -- [size_mb] [--payload]
//! ```
//! `--payload` also builds the per-record `String` a message payload needs.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use heka_pipeline::splitters::TokenSplitter;
use heka_pipeline::{SplitOptions, SplitRunner};
use heka_tail::journal::HashWindow;
use heka_tail::{Discovery, DiscoveryConfig, StreamId, TailOptions, TailSink, Tailer};

struct NullSink {
    runner: SplitRunner,
    window: HashWindow,
    records: u64,
    bytes: u64,
    payload: bool,
    hashes: u64,
}

impl TailSink for NullSink {
    fn begin(&mut self, _: StreamId, _: &str, _: &Path, offset: u64, before: &[u8]) {
        self.runner.reset(offset);
        self.window = HashWindow::from_bytes(before);
    }
    fn moved(&mut self, _: StreamId, _: &Path) {}
    fn read(&mut self, _: StreamId, reader: &mut dyn Read) -> std::io::Result<usize> {
        let n = self.runner.read_from(reader)?;
        let mut any = false;
        while let Some(rec) = self.runner.next_record() {
            self.records += 1;
            self.bytes += rec.bytes.len() as u64;
            if self.payload {
                std::hint::black_box(String::from_utf8_lossy(rec.bytes).into_owned());
            }
            any = true;
        }
        self.window.feed(self.runner.take_consumed());
        if any {
            // One journal hash per chunk, as the plugin computes for its Ack.
            std::hint::black_box(self.window.hash_hex());
            self.hashes += 1;
        }
        Ok(n)
    }
    fn end(&mut self, _: StreamId) {}
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size_mb: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1024);
    let payload = args.iter().any(|a| a == "--payload");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.log");

    let t = Instant::now();
    let mut lines = 0u64;
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let target = size_mb << 20;
        let mut written = 0u64;
        while written < target {
            let line = format!(
                "2026-11-25T12:00:{:02}.{:03}Z web-{} nginx[{}]: GET /api/v1/items/{} HTTP/1.1 status=200 bytes={} rt=0.{:03}\n",
                lines % 60,
                lines % 1000,
                lines % 7,
                1000 + lines % 97,
                lines,
                lines % 9000,
                lines % 1000
            );
            w.write_all(line.as_bytes())?;
            written += line.len() as u64;
            lines += 1;
        }
        w.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    println!(
        "generated {} lines, {:.1} MB in {:.1?}",
        lines,
        size as f64 / 1e6,
        t.elapsed()
    );

    // Warm the page cache for both contenders equally, then time wc -l.
    Command::new("cat")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .status()?;
    let t = Instant::now();
    let out = Command::new("wc").arg("-l").arg(&path).output()?;
    let wc_time = t.elapsed();
    let wc_lines: u64 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert_eq!(wc_lines, lines, "wc -l disagrees with the generator");

    let discovery = Discovery::new(&DiscoveryConfig {
        log_directory: dir.path().to_path_buf(),
        file_match: r"bench\.log".into(),
        default_stream: "bench".into(),
        ..Default::default()
    })?;
    let journals = tempfile::tempdir()?;
    let mut tailer = Tailer::new(
        discovery,
        TailOptions {
            journal_directory: journals.path().to_path_buf(),
            ..TailOptions::default()
        },
    )?;
    let mut sink = NullSink {
        runner: SplitRunner::new(
            Box::new(TokenSplitter::lines()),
            SplitOptions {
                min_buffer_size: 64 * 1024,
                ..SplitOptions::default()
            },
        ),
        window: HashWindow::new(),
        records: 0,
        bytes: 0,
        payload,
        hashes: 0,
    };
    let t = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    while sink.records < lines {
        anyhow::ensure!(
            Instant::now() < deadline,
            "tailer stalled at {} lines",
            sink.records
        );
        tailer.poll(&mut sink, Duration::from_millis(10))?;
    }
    let tail_time = t.elapsed();
    anyhow::ensure!(sink.bytes == size, "tailed {} of {size} bytes", sink.bytes);

    let mb = size as f64 / 1e6;
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "wc -l      : {:>10.0} lines/s {:>8.1} MB/s ({:.3} s)",
        lines as f64 / secs(wc_time),
        mb / secs(wc_time),
        secs(wc_time)
    );
    println!(
        "heka-tail{} : {:>10.0} lines/s {:>8.1} MB/s ({:.3} s, {} chunk hashes)",
        if payload { "+payload" } else { "" },
        lines as f64 / secs(tail_time),
        mb / secs(tail_time),
        secs(tail_time),
        sink.hashes
    );
    println!(
        "ratio heka-tail / wc -l throughput: {:.2}",
        secs(wc_time) / secs(tail_time)
    );
    Ok(())
}
