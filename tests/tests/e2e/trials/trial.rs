//! One crash-and-outage trial of the real `hekad` (issue 7's harness).
//!
//! The pipeline is the seed's: LogstreamerInput tailing `app.log` and its rotated
//! copies (`app\.log\.?(?P<Seq>\d*)`, `priority = ["^Seq"]`) → SandboxFilter
//! `log-aggregator.wasm` (1 s ticker, `max_lines = 50`, so it holds lines and injects
//! often) → SandboxEncoder `slack-encoder.wasm` → HttpOutput → [`Receiver`].
//!
//! For `fault_time` a writer thread appends numbered lines at a steady rate and
//! rotates the log now and then (rename + new file, or copytruncate with the writer
//! paused around copy + truncate, so that the rotation itself loses nothing), while
//! the driver switches the receiver between answering, refusing connections, 500s,
//! 429 + Retry-After and 1–2 s answers, and SIGKILLs hekad at random moments,
//! restarting it each time. Then the faults stop, everything written must arrive,
//! hekad gets SIGTERM and must exit 0, and every line written is compared with every
//! line received.
//!
//! Everything random comes from the trial's seed (printed), so a failure's schedule
//! can be replayed with `HEKA_TRIAL_SEED`. Timing still varies between runs.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::receiver::{Accepted, Mode, Receiver};
use super::rng::Rng;

/// The design's journal lag (docs/delivery.md): once every line up to some read
/// chunk has been delivered, LogstreamerInput's journal records that chunk within
/// this long — its save delay (`SAVE_AFTER`, 1 s) + its poll wait (200 ms) + the
/// output's flush and the ack's trip back (milliseconds), with slack for a loaded
/// 2-core machine. A SIGKILL replays what the journal did not record.
pub const JOURNAL_LAG: Duration = Duration::from_millis(2500);

/// The acknowledged unit (one `Ack`, one journal step): LogstreamerInput's
/// `ACK_UNIT_BYTES`, 8 KiB of records (a unit closes once it holds that much).
/// `HEKA_TRIAL_CHUNK_BYTES` overrides it (a bigger unit is a weaker duplicate
/// bound: see docs/delivery.md).
fn chunk_bytes() -> u64 {
    std::env::var("HEKA_TRIAL_CHUNK_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(8192)
}

/// Lines per second the writer appends.
const RATE: u64 = 200;
/// The writer's tick.
const TICK: Duration = Duration::from_millis(10);
/// How long the drain after the faults may take before lines count as lost.
const DRAIN_LIMIT: Duration = Duration::from_secs(90);
/// How long hekad may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// What one trial needs that does not change between trials.
pub struct Env {
    /// The hekad binary to run.
    pub hekad: PathBuf,
    pub filter: PathBuf,
    pub encoder: PathBuf,
    /// Shared `sandbox_cache`, so only the first start compiles the components.
    pub cache: PathBuf,
}

/// A trial's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub seed: u64,
    /// How long the writer runs while faults happen.
    pub fault_time: Duration,
    /// Rotations may be copytruncate (else always rename + create;
    /// `HEKA_TRIAL_COPYTRUNCATE=0`).
    pub copytruncate: bool,
    /// The HttpOutput's `workers`. With 1, bodies of one run arrive in the order they
    /// were read, so a run's first body shows where its journal was and the journal
    /// floor is checked exactly. With more, bodies may arrive out of order and a run's
    /// lowest message may never arrive before its kill, so the restart point seen at
    /// the receiver is only an upper bound of the journal: the floor check then uses
    /// what is sound (a restart seen below the floor is still a failure, the bound is
    /// computed from the design's floor only), and loss and same-run duplicates are
    /// checked as strictly as ever.
    pub workers: usize,
}

/// A trial's figures.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub seed: u64,
    /// The HttpOutput's `workers` (replaying a seed needs `HEKA_TRIAL_WORKERS` too).
    pub workers: usize,
    pub written: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Lines the design allows to come twice (summed over kills): see
    /// [`replay_floor`].
    pub bound: u64,
    pub kills: u32,
    pub rotations: u32,
    pub requests_ok: u64,
    pub requests_500: u64,
    pub requests_429: u64,
    pub requests_slow: u64,
    pub requests_cut: u64,
    pub refusals: u32,
    /// How far above the design's journal floor a restart resumed, at most (lines):
    /// how much better than its promise the design did.
    pub max_journal_slack: u64,
    /// Bodies whose first line did not follow the previous body's last line within
    /// one hekad run (reported, not asserted: at-least-once does not promise order
    /// across a filter's flushes).
    pub reordered: u64,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn line(&self) -> String {
        format!(
            "seed {:#018x} workers {}: written {} received {} lost {} duplicated {} (bound {}) reordered {} \
             kills {} rotations {} | requests ok {} 500 {} 429 {} slow {} cut {} refusals {} | {:.1} s",
            self.seed,
            self.workers,
            self.written,
            self.received,
            self.lost,
            self.duplicated,
            self.bound,
            self.reordered,
            self.kills,
            self.rotations,
            self.requests_ok,
            self.requests_500,
            self.requests_429,
            self.requests_slow,
            self.requests_cut,
            self.refusals,
            self.elapsed.as_secs_f64()
        )
    }
}

/// A failed trial: its figures so far and everything useful to understand it.
pub struct Failure {
    pub outcome: Outcome,
    pub report: String,
}

/// Runs one trial; `Err` when a line was lost, a duplicate is not excused by a kill,
/// a foreign or malformed body arrived, or hekad did not stop cleanly.
pub fn run(spec: Spec, env: &Env) -> Result<Outcome, Box<Failure>> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("heka-trial-")
        .tempdir()
        .expect("temp dir");
    let mut rng = Rng::new(spec.seed);
    let tag = format!("t{:016x}", spec.seed);
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).expect("log dir");
    let base = dir.path().join("base");
    fs::create_dir_all(&base).expect("base dir");
    std::os::unix::fs::symlink(&env.cache, base.join("sandbox_cache")).expect("cache link");
    let log = logs.join("app.log");
    File::create(&log).expect("create app.log");

    let receiver = Receiver::start(rng.next_u64());
    let config = config(&base, &logs, env, &receiver.url(), spec.workers);
    let config_path = dir.path().join("hekad.toml");
    fs::write(&config_path, config).expect("write config");
    let hekad_log = dir.path().join("hekad.log");

    let mut outcome = Outcome {
        seed: spec.seed,
        workers: spec.workers,
        ..Outcome::default()
    };
    let mut kills: Vec<Instant> = Vec::new();
    let mut daemon = Hekad::start(&env.hekad, &config_path, &hekad_log, 0);
    let writer = Writer::start(log.clone(), tag.clone(), rng.fork(), spec.copytruncate);

    // The fault phase.
    let end = Instant::now() + spec.fault_time;
    let mut next_mode = Instant::now() + rng.millis(300, 1500);
    let mut next_kill = Instant::now() + rng.millis(500, 3500);
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_mode {
            let mode = match rng.below(100) {
                0..40 => Mode::Ok,
                40..55 => Mode::Refuse,
                55..70 => Mode::Error500,
                70..85 => Mode::Throttle,
                _ => Mode::Slow,
            };
            if mode == Mode::Refuse {
                outcome.refusals += 1;
            }
            receiver.set_mode(mode);
            next_mode = now + rng.millis(500, 2500);
        }
        if now >= next_kill {
            daemon.kill();
            kills.push(Instant::now());
            outcome.kills += 1;
            std::thread::sleep(rng.millis(0, 400));
            daemon = Hekad::start(&env.hekad, &config_path, &hekad_log, outcome.kills);
            // Sometimes while it is still starting, mostly once it runs.
            next_kill = Instant::now() + rng.millis(200, 3500);
        }
        std::thread::sleep(Duration::from_millis(10).min(end.saturating_duration_since(now)));
    }
    receiver.set_mode(Mode::Ok);
    let (written, rotations) = writer.stop();
    outcome.written = written;
    outcome.rotations = rotations;

    // Drain: every line written must arrive.
    let drain_start = Instant::now();
    let mut exited_early = None;
    loop {
        let seen = received_counts(&receiver.accepted(), &tag);
        if (1..=written).all(|n| seen.numbers.contains_key(&n)) {
            break;
        }
        if let Some(status) = daemon.exited() {
            exited_early = Some(status);
            break;
        }
        if drain_start.elapsed() > DRAIN_LIMIT {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stop_status = if exited_early.is_none() {
        daemon.signal(libc::SIGTERM);
        daemon.wait(STOP_LIMIT)
    } else {
        exited_early
    };

    // Compare.
    let accepted = receiver.accepted();
    let seen = received_counts(&accepted, &tag);
    let counts = receiver.counts();
    outcome.requests_ok = counts.ok.load(Ordering::Relaxed);
    outcome.requests_500 = counts.status_500.load(Ordering::Relaxed);
    outcome.requests_429 = counts.status_429.load(Ordering::Relaxed);
    outcome.requests_slow = counts.slow.load(Ordering::Relaxed);
    outcome.requests_cut = counts.cut.load(Ordering::Relaxed);
    outcome.received = seen.total;
    outcome.lost = (1..=written)
        .filter(|n| !seen.numbers.contains_key(n))
        .count() as u64;
    outcome.duplicated = seen.numbers.values().map(|c| c - 1).sum();
    let check = check_replays(&accepted, &kills, &tag, spec.workers == 1);
    outcome.bound = check.bound;
    outcome.reordered = check.reordered;
    outcome.max_journal_slack = check.max_slack;
    outcome.elapsed = started.elapsed();

    let mut problems = Vec::new();
    if outcome.lost > 0 {
        let missing: Vec<u64> = (1..=written)
            .filter(|n| !seen.numbers.contains_key(n))
            .take(20)
            .collect();
        problems.push(format!("{} lines lost, first: {missing:?}", outcome.lost));
    }
    if !seen.foreign.is_empty() {
        problems.push(format!(
            "{} lines that were never written, first: {:?}",
            seen.foreign.len(),
            &seen.foreign[..seen.foreign.len().min(5)]
        ));
    }
    let bad = receiver.bad_bodies();
    if !bad.is_empty() {
        problems.push(format!(
            "{} bodies that are not Slack JSON, first: {:?}",
            bad.len(),
            bad[0]
        ));
    }
    if !check.same_run.is_empty() {
        problems.push(format!(
            "{} lines delivered twice by the same hekad run (no crash in between), first: {:?}",
            check.same_run.len(),
            &check.same_run[..check.same_run.len().min(10)]
        ));
    }
    for p in &check.journal_behind {
        problems.push(p.clone());
    }
    if outcome.duplicated > outcome.bound {
        problems.push(format!(
            "{} duplicates > bound {}",
            outcome.duplicated, outcome.bound
        ));
    }
    match (exited_early, stop_status) {
        (Some(status), _) => problems.push(format!("hekad exited on its own: {status}")),
        (None, None) => problems.push("hekad still running 30 s after SIGTERM".into()),
        (None, Some(status)) if status.code() != Some(0) => {
            problems.push(format!("hekad exited {status} after SIGTERM"))
        }
        _ => {}
    }
    drop(daemon);
    if problems.is_empty() {
        return Ok(outcome);
    }
    let kept = dir.keep();
    let log_text = fs::read_to_string(kept.join("hekad.log")).unwrap_or_default();
    let tail: Vec<&str> = log_text.lines().rev().take(80).collect();
    let report = format!(
        "trial {} failed: {}\n{}\n{}trial dir kept: {}\nlast lines of hekad.log:\n{}",
        tag,
        problems.join("; "),
        outcome.line(),
        timeline(started, &accepted, &kills, &tag),
        kept.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    Err(Box::new(Failure { outcome, report }))
}

/// Accepted requests (first and last line number) and kills, in milliseconds since
/// the trial started, for failure reports.
fn timeline(started: Instant, accepted: &[Accepted], kills: &[Instant], tag: &str) -> String {
    let ms = |t: Instant| t.saturating_duration_since(started).as_millis();
    let mut events: Vec<(u128, String)> = kills
        .iter()
        .map(|&k| (ms(k), format!("{:>6} SIGKILL", ms(k))))
        .collect();
    for a in accepted {
        let first = a.lines.first().and_then(|l| line_number(l, tag));
        let last = a.lines.last().and_then(|l| line_number(l, tag));
        events.push((
            ms(a.arrived),
            format!(
                "{:>6} accepted (answered {}): lines {first:?}..={last:?} ({})",
                ms(a.arrived),
                ms(a.answered),
                a.lines.len()
            ),
        ));
    }
    events.sort();
    let mut out = String::from("timeline (ms since the trial started):\n");
    for (_, e) in events {
        out.push_str("  ");
        out.push_str(&e);
        out.push('\n');
    }
    out
}

fn config(base: &Path, logs: &Path, env: &Env, url: &str, workers: usize) -> String {
    format!(
        r#"
[hekad]
base_dir = "{base}"

[TrialLog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'app\.log\.?(?P<Seq>\d*)'
priority = ["^Seq"]

[Aggregator]
type = "SandboxFilter"
message_matcher = "Logger == 'TrialLog'"
filename = "{filter}"
ticker_interval = 1
can_exit = false

[Aggregator.config]
max_lines = 50

[SlackEncoder]
type = "SandboxEncoder"
filename = "{encoder}"

[HttpOutput]
message_matcher = "Logger == 'Aggregator'"
address = "{url}"
encoder = "SlackEncoder"
workers = {workers}

[HttpOutput.retries]
delay = "100ms"
max_delay = "1s"
max_jitter = "100ms"
"#,
        base = base.display(),
        logs = logs.display(),
        filter = env.filter.display(),
        encoder = env.encoder.display(),
    )
}

/// What the receiver got, by line number.
struct Seen {
    /// Line number → copies received.
    numbers: HashMap<u64, u64>,
    total: u64,
    /// Lines that are not ours.
    foreign: Vec<String>,
}

/// Our lines look like `t<seed> 00000042 <filler>`.
fn line_number(line: &str, tag: &str) -> Option<u64> {
    let rest = line.strip_prefix(tag)?.strip_prefix(' ')?;
    let (n, filler) = rest.split_once(' ')?;
    (filler == FILLER).then_some(())?;
    n.parse().ok()
}

/// Some text JSON must escape, and non-ASCII.
const FILLER: &str = "ERROR api: \"quoted\" back\\slash GET /v1/accounts café ✓ padding padding";

fn received_counts(accepted: &[Accepted], tag: &str) -> Seen {
    let mut seen = Seen {
        numbers: HashMap::new(),
        total: 0,
        foreign: Vec::new(),
    };
    for a in accepted {
        for line in &a.lines {
            seen.total += 1;
            match line_number(line, tag) {
                Some(n) => *seen.numbers.entry(n).or_default() += 1,
                None => seen.foreign.push(line.clone()),
            }
        }
    }
    seen
}

/// Bytes of one written line (they all have the same length).
fn line_len() -> u64 {
    // "<tag> <8 digits> <filler>\n", the tag being "t" + 16 hex digits.
    (17 + 1 + 8 + 1 + FILLER.len() + 1) as u64
}

/// Most lines one read chunk can hold (the last one may straddle two reads).
fn chunk_lines() -> u64 {
    chunk_bytes() / line_len() + 1
}

/// What [`check_replays`] found.
struct ReplayCheck {
    /// Lines the design allows to come again, summed over kills.
    bound: u64,
    /// Lines delivered twice within one hekad run.
    same_run: Vec<u64>,
    /// Restarts that resumed below the design's journal floor.
    journal_behind: Vec<String>,
    max_slack: u64,
    reordered: u64,
}

/// Checks every restart against the design (docs/delivery.md).
///
/// Run `i` of hekad lasts from kill `i-1` (or the start) to kill `i`; its requests
/// are the bodies that *arrived* then. A run reads from the journal it found, so its
/// first body starts right after that journal's position: `J(i) = first line - 1`
/// (a run that delivered nothing left the journal where it found it). The design
/// promises that when run `i` is killed its journal covers every read chunk whose
/// lines (and all before) it had delivered at least [`JOURNAL_LAG`] earlier; a chunk
/// holds at most [`chunk_lines`] lines, so with `m` = the end of the contiguous run
/// of lines after `J(i)` accepted by then, `J(i+1) >= max(J(i), m - chunk_lines())`
/// (the floor). Lines accepted before the kill above the floor are what the design
/// allows to be sent again: their count, summed over kills, is the bound. A line
/// delivered twice by the same run is a duplicate no crash explains.
///
/// `in_order` = one request at a time (`workers = 1`). Otherwise a run's restart point
/// is taken as its lowest line (an upper bound of its journal), and the floor carried
/// to the next kill is the design's floor alone, never the observed point.
fn check_replays(
    accepted: &[Accepted],
    kills: &[Instant],
    tag: &str,
    in_order: bool,
) -> ReplayCheck {
    let run_of = |a: &Accepted| kills.iter().filter(|&&k| k <= a.arrived).count();
    let runs = kills.len() + 1;
    let mut bodies: Vec<Vec<&Accepted>> = vec![Vec::new(); runs];
    for a in accepted {
        bodies[run_of(a)].push(a);
    }
    for b in &mut bodies {
        b.sort_by_key(|a| a.arrived);
    }
    let numbers =
        |a: &Accepted| -> Vec<u64> { a.lines.iter().filter_map(|l| line_number(l, tag)).collect() };
    let mut check = ReplayCheck {
        bound: 0,
        same_run: Vec::new(),
        journal_behind: Vec::new(),
        max_slack: 0,
        reordered: 0,
    };
    // Per run: duplicates within it, order.
    for run in &bodies {
        let mut seen = std::collections::HashSet::new();
        let mut last: Option<u64> = None;
        for a in run {
            let ns = numbers(a);
            if let (Some(prev), Some(&first)) = (last, ns.first())
                && first != prev + 1
            {
                check.reordered += 1;
            }
            last = ns.last().copied().or(last);
            for n in ns {
                if !seen.insert(n) {
                    check.same_run.push(n);
                }
            }
        }
    }
    check.same_run.sort_unstable();
    // Per kill: the journal floor, the observed restart point, the bound.
    let mut journal = 0u64;
    for (i, &kill) in kills.iter().enumerate() {
        let cutoff = kill.checked_sub(JOURNAL_LAG);
        let delivered: std::collections::HashSet<u64> = bodies[i]
            .iter()
            .filter(|a| cutoff.is_some_and(|c| a.answered <= c))
            .flat_map(|a| numbers(a))
            .collect();
        let mut m = journal;
        while delivered.contains(&(m + 1)) {
            m += 1;
        }
        let floor = journal.max(m.saturating_sub(chunk_lines()));
        let observed = if in_order {
            bodies[i + 1]
                .first()
                .and_then(|a| numbers(a).first().copied())
        } else {
            bodies[i + 1].iter().flat_map(|a| numbers(a)).min()
        }
        .map(|first| first - 1);
        match observed {
            Some(j) if j < floor => check.journal_behind.push(format!(
                "run {} resumed after line {j}, below the design's floor {floor} (journal {journal}, \
                 lines up to {m} delivered {JOURNAL_LAG:?} before the kill)",
                i + 1
            )),
            Some(j) => check.max_slack = check.max_slack.max(j - floor),
            None => {}
        }
        journal = if in_order {
            observed.unwrap_or(floor).max(floor)
        } else {
            floor
        };
        let mut replayable = std::collections::HashSet::new();
        for run in &bodies[..=i] {
            for a in run.iter().filter(|a| a.arrived <= kill) {
                replayable.extend(numbers(a).into_iter().filter(|&n| n > floor));
            }
        }
        check.bound += replayable.len() as u64;
    }
    check
}

/// One hekad process of the trial; its stderr is appended to the trial's log.
struct Hekad {
    child: Child,
}

impl Hekad {
    fn start(bin: &Path, config: &Path, log: &Path, generation: u32) -> Hekad {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("hekad log");
        let _ = writeln!(file, "===== start {generation} =====");
        let child = Command::new(bin)
            .arg(format!("-config={}", config.display()))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn hekad");
        Hekad { child }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// SIGKILL, and reap it.
    fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        heka_e2e::wait_for(limit, || self.exited())
    }
}

impl Drop for Hekad {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.kill();
        }
    }
}

/// The thread appending numbered lines at [`RATE`] and rotating the log.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(u64, u32)>,
}

impl Writer {
    fn start(log: PathBuf, tag: String, rng: Rng, copytruncate: bool) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || write_loop(&log, &tag, rng, &stop, copytruncate))
        };
        Writer { stop, thread }
    }

    /// Stops writing; returns (lines written, rotations done).
    fn stop(self) -> (u64, u32) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}

fn write_loop(
    log: &Path,
    tag: &str,
    mut rng: Rng,
    stop: &AtomicBool,
    copytruncate: bool,
) -> (u64, u32) {
    let start = Instant::now();
    let mut written = 0u64;
    let mut rotations = 0u32;
    let mut next_rotation = start + rng.millis(1000, 3000);
    let mut text = String::new();
    while !stop.load(Ordering::Relaxed) {
        let due = start.elapsed().as_millis() as u64 * RATE / 1000;
        text.clear();
        while written < due {
            written += 1;
            text.push_str(&format!("{tag} {written:08} {FILLER}\n"));
        }
        if !text.is_empty() {
            let mut f = OpenOptions::new()
                .append(true)
                .open(log)
                .expect("open app.log for appending");
            f.write_all(text.as_bytes()).expect("append to app.log");
        }
        if Instant::now() >= next_rotation {
            // The choice is drawn either way, so a seed's schedule stays the same.
            let copy = rng.below(2) == 0;
            rotate(log, copytruncate && copy);
            rotations += 1;
            next_rotation = Instant::now() + rng.millis(1000, 3500);
        }
        std::thread::sleep(TICK);
    }
    (written, rotations)
}

/// Rotates `app.log` as logrotate would: older copies shift up (`.1` → `.2` …), then
/// either `app.log` is renamed to `.1` and a new one created, or (copytruncate) it is
/// copied to `.1` and truncated. The writer is paused meanwhile (same thread), which
/// is what makes copytruncate lossless here.
fn rotate(log: &Path, copytruncate: bool) {
    let name = |n: u32| PathBuf::from(format!("{}.{n}", log.display()));
    let mut top = 0;
    while name(top + 1).exists() {
        top += 1;
    }
    for n in (1..=top).rev() {
        fs::rename(name(n), name(n + 1)).expect("shift a rotated log");
    }
    if copytruncate {
        fs::copy(log, name(1)).expect("copy app.log");
        OpenOptions::new()
            .write(true)
            .open(log)
            .and_then(|f| f.set_len(0))
            .expect("truncate app.log");
    } else {
        fs::rename(log, name(1)).expect("rename app.log");
        File::create(log).expect("create a new app.log");
    }
}
