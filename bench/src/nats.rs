//! `hekad-bench nats`: agents → NATS JetStream → aggregators, measured on one box.
//!
//! One `nats-server` (JetStream, file storage, R1, from PATH) on loopback and the
//! generated file; each row starts fresh hekads (fresh journals) and ends when the
//! counted plugin's `hekad_plugin_sent_messages_total` (the ops listener's
//! `/metrics`) reaches the number of lines:
//!
//! - **single**: tail → LogOutput (stdout to /dev/null) in one hekad, the baseline;
//! - **agent → broker**: tail → NatsOutput (disk-buffered, as deployed), counted when
//!   JetStream acknowledged every line;
//! - **agent → broker, `use_buffering = false`**: the same without the disk buffer
//!   (the window of messages in flight is then all that is held);
//! - **broker → aggregator**: NatsInput on the stream the previous row filled →
//!   LogOutput;
//! - **agent → broker → aggregator**: both hekads at once on a fresh stream.
//!
//! CPU is that of every process of the row (hekads and nats-server, from `/proc`),
//! so "CPU µs/line" is the whole topology's cost per line beside the single hekad's.
//! NATS messages/s counts the stream's messages (each a batch of Heka messages).

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::proc_stats;

/// One measured row.
#[derive(Debug, Clone)]
pub struct NatsRow {
    pub label: &'static str,
    pub lines: u64,
    pub nats_messages: u64,
    pub elapsed: Duration,
    pub cpu_secs: f64,
}

impl NatsRow {
    pub fn lines_per_sec(&self) -> f64 {
        self.lines as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn nats_per_sec(&self) -> f64 {
        self.nats_messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn cpu_us_per_line(&self) -> f64 {
        self.cpu_secs * 1e6 / (self.lines as f64).max(1.0)
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET path` on 127.0.0.1:`port`: the body of a 200 answer.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.split(' ')
        .nth(1)
        .filter(|c| *c == "200")
        .map(|_| body.to_owned())
}

/// The first number after `"key":` in `json` (good enough for nats-server's `/jsz`).
fn json_number(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = json[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `hekad_plugin_sent_messages_total` of `plugin` in a `/metrics` text.
fn sent(metrics: &str, plugin: &str) -> Option<u64> {
    let label = format!("plugin=\"{plugin}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with("hekad_plugin_sent_messages_total{") && l.contains(&label))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn cpu(&self) -> f64 {
        proc_stats::of_pid(self.0.id()).map_or(0.0, |u| u.cpu_secs)
    }
}

/// What a run shares.
pub struct NatsBench {
    pub hekad: PathBuf,
    pub work: PathBuf,
    /// The generated file and its line count.
    pub file: PathBuf,
    pub lines: u64,
    /// TOML keys added to every agent's NatsOutput (`--output-keys`).
    pub output_keys: String,
}

impl NatsBench {
    fn hekad(&self, name: &str, body: &str) -> Result<(Proc, u16)> {
        let dir = self.work.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        let ops = free_port()?;
        let config = dir.join("hekad.toml");
        let text = format!(
            "[hekad]\nbase_dir = {:?}\nops_address = \"127.0.0.1:{ops}\"\n{body}",
            dir.join("base").display().to_string()
        );
        fs::write(&config, text)?;
        let log = fs::File::create(dir.join("hekad.log"))?;
        let child = Command::new(&self.hekad)
            .arg(format!("-config={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.hekad.display()))?;
        Ok((Proc(child), ops))
    }

    fn tail(&self, journal: &str) -> String {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let name = self.file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        format!(
            "[Bench]\ntype = \"LogstreamerInput\"\nlog_directory = {:?}\nfile_match = '{}'\njournal_directory = {:?}\n",
            dir.display().to_string(),
            name.replace('.', "\\."),
            self.work
                .join("journals")
                .join(journal)
                .display()
                .to_string()
        )
    }

    fn null_output(matcher: &str) -> String {
        format!(
            "[Out]\ntype = \"LogOutput\"\nmessage_matcher = \"{matcher}\"\nencoder = \"Raw\"\n\n[Raw]\ntype = \"PayloadEncoder\"\nappend_newlines = false\n"
        )
    }

    /// The agent's NatsOutput, with `keys` (more TOML keys) appended.
    fn nats_output(&self, port: u16, stream: &str, keys: &str) -> String {
        format!(
            "[ToNats]\ntype = \"NatsOutput\"\nmessage_matcher = \"Logger == 'Bench'\"\nservers = [\"nats://127.0.0.1:{port}\"]\nsubject = \"bench.{stream}\"\nstream = \"{stream}\"\ncreate_stream = true\n{keys}\n{}\n",
            self.output_keys
        )
    }

    fn nats_input(port: u16, stream: &str) -> String {
        format!(
            "[FromNats]\ntype = \"NatsInput\"\nservers = [\"nats://127.0.0.1:{port}\"]\nstream = \"{stream}\"\ndurable = \"bench\"\n"
        )
    }

    /// Waits until every `(ops port, plugin)` sent all lines; the elapsed time.
    fn wait(&self, start: Instant, counted: &[(u16, &str)]) -> Result<Duration> {
        let mut last = (Instant::now(), 0);
        loop {
            let counts: Vec<u64> = counted
                .iter()
                .map(|(port, plugin)| {
                    get(*port, "/metrics")
                        .and_then(|m| sent(&m, plugin))
                        .unwrap_or(0)
                })
                .collect();
            let least = counts.iter().copied().min().unwrap_or(0);
            if least >= self.lines {
                return Ok(start.elapsed());
            }
            if least > last.1 {
                last = (Instant::now(), least);
            } else if last.0.elapsed() > Duration::from_secs(60) {
                bail!("stuck at {least} of {} lines ({counts:?})", self.lines);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts nats-server (JetStream, fresh store); its process and monitor port.
    fn server(&self, port: u16) -> Result<(Proc, u16)> {
        let monitor = free_port()?;
        let store = self.work.join("nats");
        let _ = fs::remove_dir_all(&store);
        let server = Proc(
            Command::new("nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor.to_string(), "-js", "-sd"])
                .arg(&store)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting nats-server (Debian package nats-server)")?,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !get(monitor, "/healthz").is_some_and(|b| b.contains("ok")) {
            if Instant::now() > deadline {
                bail!("nats-server not healthy after 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok((server, monitor))
    }

    /// The rows (see the module doc).
    pub fn run(&self) -> Result<Vec<NatsRow>> {
        // Fresh journals: a second run would otherwise resume at the end of the file.
        let journals = self.work.join("journals");
        if journals.exists() {
            fs::remove_dir_all(&journals)?;
        }
        let port = free_port()?;
        let (server, monitor) = self.server(port)?;
        let broker = Broker { server, monitor };
        let mut rows = Vec::new();
        // 1. One hekad, no broker.
        let m = broker.begin();
        let body = self.tail("single") + &Self::null_output("Logger == 'Bench'");
        let (single, ops) = self.hekad("single", &body)?;
        let mut row = self.finish(
            &broker,
            m,
            "single hekad: tail -> null",
            &[&single],
            (ops, "Out"),
        )?;
        // The broker idled meanwhile: not part of this row.
        row.cpu_secs = single.cpu();
        rows.push(row);
        drop(single);
        // 2, 3. Agent -> broker, with and without the disk buffer.
        for (journal, stream, keys, label) in [
            ("agent", "BENCH1", "", "agent -> JetStream"),
            (
                "agent_unbuffered",
                "BENCH3",
                "use_buffering = false",
                "agent -> JetStream, use_buffering = false",
            ),
        ] {
            let m = broker.begin();
            let body = self.tail(journal) + &self.nats_output(port, stream, keys);
            let (agent, ops) = self.hekad(journal, &body)?;
            rows.push(self.finish(&broker, m, label, &[&agent], (ops, "ToNats"))?);
        }
        // 4. Broker -> aggregator (the stream row 2 filled).
        let m = broker.begin();
        let body = Self::nats_input(port, "BENCH1") + &Self::null_output("TRUE");
        let (agg, ops) = self.hekad("aggregator", &body)?;
        let mut row = self.finish(&broker, m, "JetStream -> aggregator", &[&agg], (ops, "Out"))?;
        row.nats_messages = rows[1].nats_messages;
        rows.push(row);
        drop(agg);
        // 5. Both at once, on a fresh stream.
        let m = broker.begin();
        let body = self.tail("agent2") + &self.nats_output(port, "BENCH2", "");
        let (agent, _) = self.hekad("agent2", &body)?;
        let body = Self::nats_input(port, "BENCH2") + &Self::null_output("TRUE");
        let (agg, ops) = self.hekad("aggregator2", &body)?;
        let label = "agent -> JetStream -> aggregator";
        rows.push(self.finish(&broker, m, label, &[&agent, &agg], (ops, "Out"))?);
        Ok(rows)
    }

    /// Waits until `counted` sent every line; the row.
    fn finish(
        &self,
        broker: &Broker,
        mark: Mark,
        label: &'static str,
        procs: &[&Proc],
        counted: (u16, &str),
    ) -> Result<NatsRow> {
        let elapsed = self.wait(mark.start, &[counted])?;
        let cpu = procs.iter().map(|p| p.cpu()).sum::<f64>() + broker.server.cpu() - mark.cpu;
        Ok(NatsRow {
            label,
            lines: self.lines,
            nats_messages: broker.messages().saturating_sub(mark.messages),
            elapsed,
            cpu_secs: cpu,
        })
    }
}

/// The running nats-server.
struct Broker {
    server: Proc,
    monitor: u16,
}

/// Where a row started: time, the server's CPU and the stream messages then.
struct Mark {
    start: Instant,
    cpu: f64,
    messages: u64,
}

impl Broker {
    /// Messages in all streams.
    fn messages(&self) -> u64 {
        get(self.monitor, "/jsz")
            .and_then(|j| json_number(&j, "messages"))
            .unwrap_or(0)
    }

    fn begin(&self) -> Mark {
        Mark {
            cpu: self.server.cpu(),
            messages: self.messages(),
            start: Instant::now(),
        }
    }
}

/// `hekad-bench nats` options.
#[derive(Debug, clap::Args)]
pub struct NatsOptions {
    #[arg(long, default_value_t = 1_000_000)]
    lines: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Work directory (default target/bench-nats).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The hekad to run (default target/release/hekad: build it first with
    /// `cargo build --release -p hekad`).
    #[arg(long)]
    hekad: Option<PathBuf>,
    /// More TOML keys for the agents' NatsOutput, e.g. "max_batch = 512".
    #[arg(long, default_value = "")]
    output_keys: String,
}

/// Runs `hekad-bench nats` and prints the table.
pub fn command(opts: NatsOptions) -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ has no parent")?
        .to_path_buf();
    let target = crate::run::target_dir(&repo);
    let hekad = opts.hekad.unwrap_or_else(|| target.join("release/hekad"));
    if !hekad.exists() {
        bail!(
            "{} missing: cargo build --release -p hekad",
            hekad.display()
        );
    }
    let work = opts.work.unwrap_or_else(|| target.join("bench-nats"));
    let file = work.join("logs").join("access.log");
    fs::create_dir_all(work.join("logs"))?;
    let written = crate::flood::write_file(&file, opts.seed, opts.lines)?;
    let bench = NatsBench {
        hekad,
        work,
        file,
        lines: written.lines,
        output_keys: opts.output_keys.replace("\\n", "\n"),
    };
    let rows = bench.run()?;
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} lines, {} bytes; load average at the end: {}\n\n{}",
        written.lines,
        written.bytes,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        table(&rows)
    );
    Ok(())
}

/// The rows as a Markdown table, with the cost per line relative to the first.
pub fn table(rows: &[NatsRow]) -> String {
    let mut out = String::from(
        "| row | lines/s | NATS msgs/s | lines per NATS msg | CPU-s | CPU µs/line | × single |\n|:---|---:|---:|---:|---:|---:|---:|\n",
    );
    let base = rows.first().map_or(1.0, NatsRow::cpu_us_per_line);
    for r in rows {
        let per = if r.nats_messages > 0 {
            format!("{:.0}", r.lines as f64 / r.nats_messages as f64)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {per} | {:.2} | {:.2} | {:.2} |\n",
            r.label,
            r.lines_per_sec(),
            r.nats_per_sec(),
            r.cpu_secs,
            r.cpu_us_per_line(),
            r.cpu_us_per_line() / base.max(1e-9),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_metrics_and_jsz() {
        let m = "hekad_plugin_sent_messages_total{plugin=\"Out\",kind=\"output\"} 1234\n";
        assert_eq!(sent(m, "Out"), Some(1234));
        assert_eq!(sent(m, "Other"), None);
        assert_eq!(
            json_number("{\"memory\": 0, \"messages\": 42,", "messages"),
            Some(42)
        );
    }
}
