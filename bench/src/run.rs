//! Runs scenarios: the floor in this process, the others in a fresh hekad each,
//! sampled when the last line arrives.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proc_stats::{self, Usage};
use crate::receiver::{self, HttpReceiver, Seen};
use crate::scenario::{self, Paths, Scenario};

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {0}: skipped: {1}")]
    Skipped(usize, String),
    #[error(
        "scenario {scenario}: only {got} of {want} lines arrived (nothing new for {idle:?}); hekad's log: {log}"
    )]
    Incomplete {
        scenario: usize,
        got: u64,
        want: u64,
        idle: Duration,
        log: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
    let what = what.into();
    move |source| RunError::Io { what, source }
}

/// One row of results.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    pub lines: u64,
    pub bytes: u64,
    /// Start (spawn, or start of reading) to the last line's arrival.
    pub elapsed: Duration,
    pub usage: Usage,
    /// Bodies (HTTP posts, or pipe reads) the receiver got.
    pub bodies: u64,
    /// Start to the first line's arrival (start-up plus the first batch's latency).
    pub first: Duration,
    /// CPU seconds the bench process (the receiver) spent meanwhile.
    pub receiver_cpu_secs: f64,
    /// hekad's threads and their CPU seconds, busiest first.
    pub threads: Vec<(String, f64)>,
}

impl Row {
    pub fn lines_per_sec(&self) -> f64 {
        self.lines as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn cpu_secs_per_gb(&self) -> f64 {
        self.usage.cpu_secs / (self.bytes as f64 / 1e9).max(1e-12)
    }
}

/// A generated input: a directory of `access*.log` files.
#[derive(Debug, Clone)]
pub struct Input {
    pub dir: PathBuf,
    pub lines: u64,
    pub bytes: u64,
}

/// The inputs of a run: the main file, and those of the scenarios that need their own.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `access.log`, the generated lines.
    pub main: Input,
    /// The same lines over [`scenario::SPREAD_FILES`] files ([`Scenario::ManyFiles`]).
    pub spread: Option<Input>,
    /// Lines of [`scenario::LONG_LINE`] bytes ([`Scenario::LongLines`]).
    pub long: Option<Input>,
}

/// What every run shares.
#[derive(Debug, Clone)]
pub struct Bench {
    pub hekad: PathBuf,
    pub repo: PathBuf,
    pub work: PathBuf,
    pub inputs: Inputs,
    /// How long without a new line before a run is declared stuck.
    pub idle: Duration,
    /// Extra `[hekad]` settings (`key = value`).
    pub globals: Vec<String>,
}

impl Bench {
    /// The input `scenario` reads.
    fn input(&self, scenario: Scenario) -> Result<&Input, RunError> {
        let input = match scenario {
            Scenario::ManyFiles => self.inputs.spread.as_ref(),
            Scenario::LongLines => self.inputs.long.as_ref(),
            _ => Some(&self.inputs.main),
        };
        input.ok_or_else(|| {
            RunError::Skipped(scenario.number(), "its input was not generated".into())
        })
    }

    fn paths(&self, name: &str, url: String) -> Result<Paths, RunError> {
        let journal_dir = self.work.join("journals").join(name);
        if journal_dir.exists() {
            fs::remove_dir_all(&journal_dir).map_err(io(format!("{}", journal_dir.display())))?;
        }
        fs::create_dir_all(&journal_dir).map_err(io(format!("{}", journal_dir.display())))?;
        Ok(Paths {
            log_dir: self.inputs.main.dir.clone(),
            base_dir: self.work.join("base"),
            journal_dir,
            plugins: guests_of(&self.hekad, &self.repo),
            repo: self.repo.clone(),
            url,
            globals: self.globals.clone(),
        })
    }

    /// Runs `scenario` once.
    pub fn run(&self, scenario: Scenario) -> Result<Row, RunError> {
        if scenario == Scenario::Floor {
            return self.floor();
        }
        let input = self.input(scenario)?.clone();
        let name = format!("s{}", scenario.number());
        let http = if scenario.http() {
            Some(HttpReceiver::start(2).map_err(io("cannot start the HTTP receiver"))?)
        } else {
            None
        };
        let url = http.as_ref().map(HttpReceiver::url).unwrap_or_default();
        let mut paths = self.paths(&name, url)?;
        paths.log_dir = input.dir.clone();
        let config = self.work.join(format!("{name}.toml"));
        let log = self.work.join(format!("{name}.log"));
        let tally = http.as_ref().map(|h| h.tally().clone());
        let mut command = if scenario == Scenario::FluentBit {
            let Some(port) = http.as_ref().map(HttpReceiver::port) else {
                return Err(RunError::Skipped(scenario.number(), "no receiver".into()));
            };
            let Some(fluent_bit) = on_path("fluent-bit") else {
                return Err(RunError::Skipped(
                    scenario.number(),
                    "fluent-bit is not on PATH".into(),
                ));
            };
            fs::write(&config, scenario::fluent_bit_config(&paths, port))
                .map_err(io(format!("{}", config.display())))?;
            let mut command = Command::new(fluent_bit);
            command.arg("-c").arg(&config);
            command
        } else {
            if scenario == Scenario::SeedCold {
                // A base_dir of its own, emptied: the other rows' compiled guests stay
                // cached (a `--baseline` binary's cold run must not make the next row of
                // this binary cold too).
                paths.base_dir = self.work.join("base-cold");
                if paths.base_dir.exists() {
                    fs::remove_dir_all(&paths.base_dir)
                        .map_err(io(format!("{}", paths.base_dir.display())))?;
                }
            }
            fs::write(&config, scenario::config(scenario, &paths))
                .map_err(io(format!("{}", config.display())))?;
            let mut command = Command::new(&self.hekad);
            command.arg(format!("-config={}", config.display()));
            command
        };
        self.daemon(scenario, &input, &mut command, &log, tally)
    }

    /// Starts the daemon, waits for every line, samples, stops it.
    fn daemon(
        &self,
        scenario: Scenario,
        input: &Input,
        command: &mut Command,
        log: &Path,
        http: Option<std::sync::Arc<receiver::Tally>>,
    ) -> Result<Row, RunError> {
        let stderr = fs::File::create(log).map_err(io(format!("{}", log.display())))?;
        let receiver_before = proc_stats::of_self().cpu_secs;
        let start = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(if http.is_some() {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("cannot start {:?}", command.get_program())))?;
        let pid = child.id();
        let (tally, pipe) = match http {
            Some(t) => (t, None),
            None => {
                let stdout = child.stdout.take().ok_or_else(|| RunError::Io {
                    what: "hekad's stdout".into(),
                    source: std::io::Error::other("not piped"),
                })?;
                let (t, h) = receiver::count_pipe(stdout);
                (t, Some(h))
            }
        };
        let seen: Seen = tally.wait_for(input.lines, self.idle);
        let usage = proc_stats::of_pid(pid).unwrap_or_default();
        let threads = proc_stats::threads_of_pid(pid);
        let receiver_cpu_secs = proc_stats::of_self().cpu_secs - receiver_before;
        stop(&mut child);
        if let Some(p) = pipe {
            let _ = p.join();
        }
        if seen.lines < input.lines {
            let mut text = String::new();
            let _ = fs::File::open(log).and_then(|mut f| f.read_to_string(&mut text));
            let tail: String = text.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(RunError::Incomplete {
                scenario: scenario.number(),
                got: seen.lines,
                want: input.lines,
                idle: self.idle,
                log: tail,
            });
        }
        let last = seen.last.unwrap_or_else(Instant::now);
        Ok(Row {
            scenario,
            lines: seen.lines,
            bytes: input.bytes,
            elapsed: last.saturating_duration_since(start),
            usage,
            bodies: seen.bodies,
            first: seen.first.unwrap_or(last).saturating_duration_since(start),
            receiver_cpu_secs,
            threads,
        })
    }

    /// Scenario 1: read the file in 256 KiB reads and find every newline.
    fn floor(&self) -> Result<Row, RunError> {
        let before = proc_stats::of_self();
        let start = Instant::now();
        let file = self.inputs.main.dir.join("access.log");
        let mut f = fs::File::open(&file).map_err(io(format!("{}", file.display())))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut lines = 0;
        loop {
            let n = f.read(&mut buf).map_err(io("reading the log"))?;
            if n == 0 {
                break;
            }
            lines += receiver::count_raw_lines(&buf[..n]);
        }
        let elapsed = start.elapsed();
        let after = proc_stats::of_self();
        Ok(Row {
            scenario: Scenario::Floor,
            lines,
            bytes: self.inputs.main.bytes,
            elapsed,
            usage: Usage {
                cpu_secs: after.cpu_secs - before.cpu_secs,
                peak_rss_kib: after.peak_rss_kib,
            },
            bodies: 0,
            first: Duration::ZERO,
            receiver_cpu_secs: 0.0,
            threads: Vec::new(),
        })
    }

    /// The seed's verbatim Lua scripts fed at `rate` lines/s for `secs` seconds:
    /// returns (lines written, lines arrived, hekad's log tail).
    pub fn seed_verbatim_at(
        &self,
        rate: u64,
        secs: u64,
        seed: u64,
        output_limit: Option<u64>,
    ) -> Result<(u64, u64, Usage, String), RunError> {
        let http = HttpReceiver::start(2).map_err(io("cannot start the HTTP receiver"))?;
        let name = format!("verbatim-{rate}-{}", output_limit.unwrap_or(0));
        let dir = self.work.join(&name);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io(format!("{}", dir.display())))?;
        }
        fs::create_dir_all(&dir).map_err(io(format!("{}", dir.display())))?;
        let log_file = dir.join("access.log");
        fs::write(&log_file, b"").map_err(io(format!("{}", log_file.display())))?;
        let mut paths = self.paths(&name, http.url())?;
        paths.log_dir = dir.clone();
        let config = self.work.join(format!("{name}.toml"));
        fs::write(
            &config,
            scenario::seed_verbatim_config(&paths, 1, output_limit),
        )
        .map_err(io(format!("{}", config.display())))?;
        let log = self.work.join(format!("{name}.log"));
        let stderr = fs::File::create(&log).map_err(io(format!("{}", log.display())))?;
        let mut child = Command::new(&self.hekad)
            .arg(format!("-config={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io(format!("cannot start {}", self.hekad.display())))?;
        // Let it find the (empty) file before lines arrive.
        std::thread::sleep(Duration::from_millis(500));
        let lines = rate * secs;
        crate::flood::append_at_rate(&log_file, seed, 0, lines, rate).map_err(io("appending"))?;
        let seen = http.tally().wait_for(lines, Duration::from_secs(3));
        let usage = proc_stats::of_pid(child.id()).unwrap_or_default();
        stop(&mut child);
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail = text
            .lines()
            .filter(|l| l.contains("terminated"))
            .filter_map(|l| l.split("reason=").nth(1))
            .take(1)
            .collect::<Vec<_>>()
            .join(" | ");
        Ok((lines, seen.lines, usage, tail))
    }
}

/// SIGTERM, then SIGKILL after 10 s.
fn stop(child: &mut Child) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `name` found in a directory of `$PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The cargo target directory of the workspace at `repo`.
/// The guest plugins built with `hekad`: `guest-plugins/` in the target directory the
/// binary was built in (`<target>/release/hekad`), so a `--baseline` binary from
/// another checkout runs with its own guests (the guests' interface may differ between
/// commits); `target/guest-plugins` of this repository otherwise.
fn guests_of(hekad: &Path, repo: &Path) -> PathBuf {
    hekad
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("guest-plugins"))
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(|| target_dir(repo).join("guest-plugins"))
}

pub fn target_dir(repo: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target"))
}
