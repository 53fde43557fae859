//! `hekad test [PATHS...]`: plugin tests written as TOML specs (`*.test.toml`) beside
//! the plugin, run through the daemon's own plugin code. The spec format is in
//! `docs/plugin-tests.md`.
//!
//! - `spec`: reading a spec (the plugin's hekad.toml section, cases, inputs,
//!   expectations); every problem names the file and key (exit code 2).
//! - `subject`: a filter, encoder or decoder built by its registered constructor and
//!   driven through the pipeline's plugin traits, with a virtual clock for
//!   `timer_event`.
//! - `live`: an input or output in a running pipeline, fed by or delivering to the
//!   test's stand-ins (capture sinks, a connection, a log file).
//! - `check`: expectations against outputs, as readable diffs; golden files and
//!   `--bless`.
//! - `junit`: `--junit FILE`.
//!
//! Exit codes: 0 every case passed, 1 a case failed, 2 a spec could not run (or no
//! spec was found).

mod check;
mod input;
mod junit;
mod live;
mod spec;
mod stream;
mod subject;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_message::Message;

use crate::config::{Config, PluginKind};

pub use spec::{Spec, SpecError, TEST_HOSTNAME};

use spec::{Case, Step};
use stream::{Record, Stream};
use subject::{Input, Subject};

/// How `hekad test` runs.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Write the golden files that differ or are missing instead of failing.
    pub bless: bool,
    /// Also write the reports as JUnit XML here.
    pub junit: Option<PathBuf>,
}

/// Why `hekad test` could not do its job at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("no *.test.toml spec found under {0}")]
    NoSpecs(String),
    #[error("cannot read {path}: {error}")]
    Walk { path: String, error: std::io::Error },
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("cannot make a temporary base_dir: {0}")]
    TempDir(std::io::Error),
}

/// One case's result.
#[derive(Debug)]
pub struct CaseReport {
    pub name: String,
    /// Empty when the case passed.
    pub problems: Vec<String>,
    pub blessed: Vec<PathBuf>,
    pub elapsed: Duration,
    /// Sandboxes: peak memory (bytes) and the worst call's budget share.
    pub figures: Option<(u64, f64)>,
    /// Inputs the filter's message_matcher did not select.
    pub unmatched: usize,
}

impl CaseReport {
    /// "peak memory 1088.0 KiB, worst call budget 0.02%" for sandboxes.
    pub fn figures_note(&self) -> Option<String> {
        let (memory, budget) = self.figures?;
        Some(format!(
            "peak memory {:.1} KiB, worst call budget {:.2}%",
            memory as f64 / 1024.0,
            budget * 100.0
        ))
    }
}

/// One spec's result: its cases, or why it could not run.
#[derive(Debug)]
pub struct SpecReport {
    pub path: PathBuf,
    pub outcome: Result<Vec<CaseReport>, SpecError>,
    pub elapsed: Duration,
}

/// Runs every spec under `paths`, prints a report to `out` and returns the exit code.
pub fn run(paths: &[PathBuf], opts: &Options, out: &mut dyn Write) -> Result<u8, TestError> {
    let mut specs = Vec::new();
    for path in paths {
        find_specs(path, &mut specs)?;
    }
    if specs.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(TestError::NoSpecs(shown.join(", ")));
    }
    let base = tempfile::Builder::new()
        .prefix("hekad-test-")
        .tempdir()
        .map_err(TestError::TempDir)?;
    let mut reports = Vec::new();
    for (i, path) in specs.iter().enumerate() {
        let report = run_spec(path, &base.path().join(i.to_string()), opts.bless);
        print_spec(&report, out);
        reports.push(report);
    }
    let code = summary(&reports, out);
    if let Some(file) = &opts.junit {
        std::fs::write(file, junit::junit_xml(&reports)).map_err(|error| TestError::Write {
            path: file.display().to_string(),
            error,
        })?;
    }
    Ok(code)
}

/// `path` itself when it is a file, else every `*.test.toml` below it (hidden
/// directories and `target` left out), in name order.
fn find_specs(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), TestError> {
    let walk = |error| TestError::Walk {
        path: path.display().to_string(),
        error,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(walk)?;
        found.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(walk)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if entry.is_dir() {
            if !name.starts_with('.') && name != "target" {
                find_specs(&entry, found)?;
            }
        } else if name.ends_with(".test.toml") {
            found.push(entry);
        }
    }
    Ok(())
}

/// Loads and runs one spec; `base_dir` is its own (preserved state lives there).
pub fn run_spec(path: &Path, base_dir: &Path, bless: bool) -> SpecReport {
    let started = Instant::now();
    let outcome = spec::load(path).and_then(|mut spec| {
        spec.config.globals.base_dir = base_dir.to_path_buf();
        spec.cases
            .iter()
            .map(|case| run_case(&spec, case, bless))
            .collect::<Result<Vec<_>, _>>()
    });
    SpecReport {
        path: path.to_path_buf(),
        outcome,
        elapsed: started.elapsed(),
    }
}

/// Runs one case on a fresh instance (and fresh preserved state).
fn run_case(spec: &Spec, case: &Case, bless: bool) -> Result<CaseReport, SpecError> {
    let started = Instant::now();
    let preserved = spec.config.globals.base_dir.join("sandbox_preservation");
    // Nothing to remove is the usual case; anything else shows when the plugin starts.
    let _ = std::fs::remove_dir_all(&preserved);
    let overridden;
    let config = match &case.settings {
        None => &spec.config,
        Some(settings) => {
            overridden = with_settings(&spec.config, &spec.plugin, settings);
            &overridden
        }
    };
    if matches!(spec.kind, PluginKind::Input | PluginKind::Output) {
        return run_live(spec, case, config, bless, started);
    }
    let mut subject = Subject::build(config, &spec.plugin)?;
    let mut stream = match &spec.splitter {
        Some(name) => Some(Stream::build(&spec.config, name)?),
        None => None,
    };
    let mut clock = case.start_time;
    let interval = spec.ticker_ns.filter(|_| case.message_clock);
    let mut next_tick = interval.map(|i| clock.saturating_add(i));
    let mut batch: Vec<Input> = Vec::new();
    for step in &case.steps {
        match step {
            Step::Message(m) => {
                if let (Some(due), Some(i)) = (next_tick, interval)
                    && m.timestamp >= due
                {
                    subject.deliver(std::mem::take(&mut batch));
                    (clock, next_tick) = message_ticks(&mut subject, due, i, m.timestamp);
                }
                batch.push(input(Record::Payload((**m).clone()), clock));
            }
            Step::Data(bytes) => {
                let records = stream.as_mut().map(|s| s.push(bytes)).unwrap_or_default();
                batch.extend(records.into_iter().map(|r| input(r, clock)));
            }
            Step::Tick(_) | Step::Restart => subject.deliver(std::mem::take(&mut batch)),
        }
        // Filters get what came in as the runner would: batches of at most FILTER_BATCH.
        while batch.len() >= heka_pipeline::FILTER_BATCH {
            let rest = batch.split_off(heka_pipeline::FILTER_BATCH);
            subject.deliver(std::mem::replace(&mut batch, rest));
        }
        match step {
            Step::Tick(ns) => {
                clock = *ns;
                subject.tick(clock);
            }
            Step::Restart => subject.stop(clock, true)?,
            Step::Message(_) | Step::Data(_) => {}
        }
    }
    let last = stream.as_mut().map(Stream::finish).unwrap_or_default();
    batch.extend(last.into_iter().map(|r| input(r, clock)));
    subject.deliver(batch);
    subject.stop(clock, false)?;
    let figures = subject.figures();
    let found = check::check_case(case, &subject.outputs, &subject.tally, figures, bless);
    Ok(CaseReport {
        name: case.name.clone(),
        problems: found.problems,
        blessed: found.blessed,
        elapsed: started.elapsed(),
        figures,
        unmatched: subject.tally.unmatched,
    })
}

/// A case of an input or output, in a running pipeline (`live`), in a directory of
/// its own under the spec's `base_dir`.
fn run_live(
    spec: &Spec,
    case: &Case,
    config: &Config,
    bless: bool,
    started: Instant,
) -> Result<CaseReport, SpecError> {
    let base = &spec.config.globals.base_dir;
    let made = std::fs::create_dir_all(base);
    let dir = made
        .and_then(|()| tempfile::Builder::new().prefix("case-").tempdir_in(base))
        .map_err(|e| spec::invalid(&spec.path, "case", format!("a case directory: {e}")))?;
    let run = live::run_case(spec, case, config, dir.path())?;
    let mut found = check::check_case(case, &run.outputs, &run.tally, None, bless);
    found.problems.splice(0..0, run.problems);
    Ok(CaseReport {
        name: case.name.clone(),
        problems: found.problems,
        blessed: found.blessed,
        elapsed: started.elapsed(),
        figures: None,
        unmatched: 0,
    })
}

/// `config` with `settings` over section `name`'s own keys (its `config` table merged
/// key by key, so a case changes one plugin option and keeps the rest).
fn with_settings(config: &Config, name: &str, settings: &toml::Table) -> Config {
    let mut config = config.clone();
    if let Some(section) = config.sections.iter_mut().find(|s| s.name == name) {
        for (key, value) in settings {
            match (section.table.get_mut(key), value) {
                (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => {
                    mine.extend(theirs.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    section.table.insert(key.clone(), value.clone());
                }
            }
        }
    }
    config
}

/// The most timer events one message may make due (`clock = "messages"`): a message
/// far in the future fires this many, then the clock jumps to its time, so a stray
/// timestamp cannot make a case run for ever.
const MAX_TICKS_AT_ONCE: i64 = 1000;

/// Fires the ticks due from `due` (every `interval`) up to a message at `ts`;
/// returns the clock and the next tick.
fn message_ticks(
    subject: &mut Subject<'_>,
    due: i64,
    interval: i64,
    ts: i64,
) -> (i64, Option<i64>) {
    let mut at = due;
    for _ in 0..MAX_TICKS_AT_ONCE {
        subject.tick(at);
        match at.checked_add(interval) {
            Some(next) if next <= ts => at = next,
            Some(next) => return (at, Some(next)),
            None => return (at, None),
        }
    }
    // Too many at once: skip to the last tick due by `ts`.
    let last = ts - (ts - at) % interval;
    (last, last.checked_add(interval))
}

/// A record as an input hands it on: a message with a Uuid and the (virtual) time
/// when it has none.
fn input(record: Record, clock: i64) -> Input {
    match record {
        Record::Payload(m) => Input {
            msg: stamped(&m, clock),
            raw: None,
        },
        Record::MessageBytes(raw) => Input {
            msg: stamped(&Message::default(), clock),
            raw: Some(raw),
        },
    }
}

/// An input message as an input would hand it on: a Uuid and the (virtual) time when
/// the spec gave none.
fn stamped(m: &Message, clock: i64) -> Message {
    let mut m = m.clone();
    if m.uuid.is_empty() {
        m.uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    }
    if m.timestamp == 0 {
        m.timestamp = clock;
    }
    m
}

fn print_spec(report: &SpecReport, out: &mut dyn Write) {
    let path = report.path.display();
    let cases = match &report.outcome {
        Err(e) => {
            let _ = writeln!(out, "BAD  {path}\n{e}");
            return;
        }
        Ok(cases) => cases,
    };
    for c in cases {
        let status = if c.problems.is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        let mut notes = vec![format!("{} ms", c.elapsed.as_millis())];
        notes.extend(c.figures_note());
        if c.unmatched > 0 {
            notes.push(format!(
                "{} inputs not matched by message_matcher",
                c.unmatched
            ));
        }
        let _ = writeln!(out, "{status} {path}: {} ({})", c.name, notes.join(", "));
        for p in &c.problems {
            let _ = writeln!(out, "  {p}");
        }
        for b in &c.blessed {
            let _ = writeln!(out, "  blessed {}", b.display());
        }
    }
}

/// Prints the totals; returns the exit code.
fn summary(reports: &[SpecReport], out: &mut dyn Write) -> u8 {
    let bad = reports.iter().filter(|r| r.outcome.is_err()).count();
    let cases: Vec<&CaseReport> = reports
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .flatten()
        .collect();
    let failed = cases.iter().filter(|c| !c.problems.is_empty()).count();
    let _ = writeln!(
        out,
        "\n{} specs, {} cases: {} passed, {failed} failed, {bad} bad specs",
        reports.len(),
        cases.len(),
        cases.len() - failed
    );
    match (bad, failed) {
        (0, 0) => 0,
        (0, _) => 1,
        _ => 2,
    }
}
