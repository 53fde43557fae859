//! Inputs and outputs under `hekad test`. Filters, encoders and decoders are driven
//! call by call (`subject`); inputs and outputs do I/O, so their cases run in a real
//! pipeline: the spec's configuration (the section under test and the templates it
//! uses) built by `assemble` and started by the daemon's `PipelineBuilder`, with the
//! same runners, queues, retries, disk buffers and acknowledgements as hekad.
//!
//! - **An output** is fed by a test input ([`feed::Feeder`]) that routes the case's
//!   messages, each with its own acknowledgement, and delivers to a capture sink
//!   (`sink`: its address, path or stdout rewritten). A run ends when every message
//!   was acknowledged, delivered or abandoned, or after the case's `timeout`.
//! - **An input** gets the case's bytes the way it reads them ([`feed::Bytes`]: a
//!   connection to a TcpInput, a file in a temporary `log_directory` of a
//!   LogstreamerInput) and what it routes goes to a test output matching every
//!   message ([`feed::Capture`]). A run ends once the expected number of messages
//!   arrived (the `expect` list, `count`, or the golden file's lines) and no more
//!   came for [`SETTLE`]; when the number is not known, once nothing came for
//!   [`SETTLE`]; at the latest after `timeout`.
//! - `restart = true` stops the pipeline cleanly (outputs drain and flush, journals
//!   and buffers are saved) and starts a new one on the same `base_dir`: a
//!   LogstreamerInput resumes from its journal, a buffered output from its queue.
//!
//! Each case has a fresh `base_dir` and directory of its own.

mod feed;
mod sink;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heka_message::{Matcher, Message};
use heka_pipeline::{OutputOptions, Registry, SplitOptions};

use super::spec::{Case, Spec, Step, invalid};
use super::stream::{Record, Stream};
use super::subject::{Output, Tally};
use super::{SpecError, input};
use crate::assemble::{Assembled, assemble};
use crate::config::{Config, PluginKind, Section};
use crate::plugins::BuildContext;
use crate::plugins::outputs::log::{LogOutput, LogOutputConfig};

pub use sink::Request;

/// How long an input's case waits for one more message before it ends.
pub const SETTLE: Duration = Duration::from_millis(500);

/// What a case of an input or output produced.
pub struct Live {
    pub outputs: Vec<Output>,
    pub tally: Tally,
    /// What went wrong beyond the expectations (a timeout, a sink over its bound).
    pub problems: Vec<String>,
}

/// Runs one case of an input or output; `config` has the case's settings, `dir` is
/// the case's own directory.
pub fn run_case(spec: &Spec, case: &Case, config: &Config, dir: &Path) -> Result<Live, SpecError> {
    let mut config = only_the_plugin(config, &spec.plugin);
    config.globals.base_dir = dir.join("base");
    let bad = |e: String| SpecError::from(invalid(&spec.path, "plugin", e));
    std::fs::create_dir_all(&config.globals.base_dir).map_err(|e| bad(e.to_string()))?;
    match spec.kind {
        PluginKind::Input => run_input(spec, case, config, dir),
        _ => run_output(spec, case, config, dir),
    }
}

/// The section under test and the templates (splitters, decoders, encoders) only:
/// a spec pulled from a whole hekad.toml runs none of its other plugins.
fn only_the_plugin(config: &Config, name: &str) -> Config {
    let mut config = config.clone();
    config.sections.retain(|s| {
        s.name == name
            || matches!(
                s.kind,
                PluginKind::Splitter | PluginKind::Decoder | PluginKind::Encoder
            )
    });
    config
}

/// The section under test, to be pointed at the test's stand-ins.
fn under_test<'c>(spec: &Spec, config: &'c mut Config) -> Result<&'c mut Section, SpecError> {
    config
        .sections
        .iter_mut()
        .find(|s| s.name == spec.plugin)
        .ok_or_else(|| SpecError::from(invalid(&spec.path, "plugin", "no such section")))
}

fn run_output(spec: &Spec, case: &Case, mut config: Config, dir: &Path) -> Result<Live, SpecError> {
    let bad = |e: String| SpecError::from(invalid(&spec.path, "plugin", e));
    let sink =
        sink::Sink::redirect(under_test(spec, &mut config)?, dir, &case.respond).map_err(bad)?;
    let runs = output_runs(spec, case)?;
    let acks = Arc::new(feed::Acks::default());
    let registry = Arc::new(Registry::new());
    let mut problems = Vec::new();
    let mut framed = false;
    let mut fed = 0;
    for msgs in runs {
        let mut assembled = assemble(&config).map_err(SpecError)?;
        if let Some((_, output, options)) = assembled
            .outputs
            .iter_mut()
            .find(|(n, ..)| *n == spec.plugin)
        {
            framed = options.use_framing;
            if let Some(buffer) = sink.log_buffer() {
                *output = log_output(&config, &spec.plugin, buffer)?;
            }
        }
        let want = fed + msgs.len();
        let feeder = feed::Feeder {
            msgs,
            acks: acks.clone(),
            first_id: fed as u64,
        };
        fed = want;
        add_input(&mut assembled, Box::new(feeder));
        let pipeline = assembled
            .start_in(registry.clone())
            .map_err(|e| bad(e.to_string()))?;
        let deadline = Instant::now() + case.timeout;
        while acks.counts().0 + acks.counts().1 < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (delivered, abandoned) = acks.counts();
        if delivered + abandoned < want {
            problems.push(format!(
                "{} of {want} messages not acknowledged by the output within {:?}",
                want - delivered - abandoned,
                case.timeout
            ));
        }
        pipeline.shutdown();
        pipeline.wait();
    }
    let captured = sink.finish().map_err(bad)?;
    if captured.dropped_bytes > 0 {
        problems.push(format!(
            "the sink kept {} MiB and dropped {} bytes past it",
            sink::MAX_CAPTURE_BYTES >> 20,
            captured.dropped_bytes
        ));
    }
    let mut tally = tally_of(&registry, &spec.plugin);
    let (_, abandoned) = acks.counts();
    tally
        .failures
        .extend((0..abandoned).map(|_| "abandoned by the output (not delivered)".to_owned()));
    let mut outputs: Vec<Output> = captured
        .requests
        .into_iter()
        .map(|r| Output::Request(Box::new(r)))
        .collect();
    if !captured.bytes.is_empty() {
        outputs.extend(stream_outputs(captured.bytes, framed));
    }
    Ok(Live {
        outputs,
        tally,
        problems,
    })
}

/// The case's messages, one list per run (a `restart` starts the next), stamped as an
/// input would; `data` goes through the spec's splitter first.
fn output_runs(spec: &Spec, case: &Case) -> Result<Vec<Vec<Message>>, SpecError> {
    let mut stream = match &spec.splitter {
        Some(name) => Some(Stream::build(&spec.config, name)?),
        None => None,
    };
    let mut runs = vec![Vec::new()];
    let take = |records: Vec<Record>, runs: &mut Vec<Vec<Message>>| {
        for record in records {
            let item = input(record, case.start_time);
            let msg = match item.raw {
                None => item.msg,
                Some(raw) => heka_message::decode_message(&raw).map_err(|e| {
                    invalid(
                        &spec.path,
                        "case",
                        format!("a record is not a Heka message: {e}"),
                    )
                })?,
            };
            if let Some(run) = runs.last_mut() {
                run.push(msg);
            }
        }
        Ok::<(), SpecError>(())
    };
    for step in &case.steps {
        match step {
            Step::Message(m) => take(vec![Record::Payload((**m).clone())], &mut runs)?,
            Step::Data(bytes) => {
                let records = stream.as_mut().map(|s| s.push(bytes)).unwrap_or_default();
                take(records, &mut runs)?;
            }
            Step::Restart => runs.push(Vec::new()),
            Step::Tick(_) => {}
        }
    }
    let last = stream.as_mut().map(Stream::finish).unwrap_or_default();
    take(last, &mut runs)?;
    Ok(runs)
}

fn run_input(spec: &Spec, case: &Case, mut config: Config, dir: &Path) -> Result<Live, SpecError> {
    let bad = |e: String| SpecError::from(invalid(&spec.path, "plugin", e));
    let bytes = feed_for(under_test(spec, &mut config)?, dir, case).map_err(bad)?;
    let mut runs: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
    for step in &case.steps {
        match step {
            Step::Data(b) => runs.last_mut().into_iter().for_each(|r| r.push(b.clone())),
            Step::Restart => runs.push(Vec::new()),
            Step::Message(_) | Step::Tick(_) => {}
        }
    }
    let expected = expected_count(case);
    let captured = Arc::new(Mutex::new(feed::Captured::default()));
    let count = || {
        captured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .messages
            .len()
    };
    let registry = Arc::new(Registry::new());
    let mut problems = Vec::new();
    let last = runs.len() - 1;
    for (i, chunks) in runs.iter().enumerate() {
        let mut assembled = assemble(&config).map_err(SpecError)?;
        let all = Matcher::parse("TRUE").map_err(|e| bad(e.to_string()))?;
        let capture = feed::Capture(captured.clone());
        assembled.outputs.push((
            "hekad-test-capture".into(),
            Box::new(capture),
            OutputOptions::new(all),
        ));
        let pipeline = assembled
            .start_in(registry.clone())
            .map_err(|e| bad(e.to_string()))?;
        if let Err(e) = bytes.feed(chunks) {
            problems.push(e);
        }
        let want = expected.filter(|_| i == last);
        let deadline = Instant::now() + case.timeout;
        let mut seen = (count(), Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(10));
            let now = count();
            if now != seen.0 {
                seen = (now, Instant::now());
            }
            let quiet = seen.1.elapsed() >= SETTLE;
            if Instant::now() >= deadline || (quiet && want.is_none_or(|n| now >= n)) {
                break;
            }
        }
        pipeline.shutdown();
        pipeline.wait();
    }
    let got = std::mem::take(
        &mut *captured
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if got.dropped > 0 {
        problems.push(format!(
            "the capture kept {} messages and dropped {} past it",
            feed::MAX_CAPTURED,
            got.dropped
        ));
    }
    let mut tally = tally_of(&registry, &spec.plugin);
    if let Some(stats) = registry.find(&spec.plugin) {
        let failed = stats.receiving_errors.get();
        tally
            .failures
            .extend((0..failed).map(|_| "a record failed to decode".to_owned()));
    }
    Ok(Live {
        outputs: got
            .messages
            .into_iter()
            .map(|m| Output::Message(Box::new(m)))
            .collect(),
        tally,
        problems,
    })
}

/// Points an input section at where the case's bytes will be.
fn feed_for(section: &mut Section, dir: &Path, case: &Case) -> Result<feed::Bytes, String> {
    let table = &mut section.table;
    match section.type_name.as_str() {
        "TcpInput" => {
            // A free port: bound and released, then given to the input.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let addr = format!("127.0.0.1:{port}");
            table.insert("address".into(), addr.clone().into());
            table.insert("use_tls".into(), false.into());
            table.remove("tls");
            Ok(feed::Bytes::Tcp(addr))
        }
        "LogstreamerInput" => {
            let logs = dir.join("logs");
            std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
            table.insert("log_directory".into(), logs.display().to_string().into());
            Ok(feed::Bytes::File(logs.join(&case.file)))
        }
        other => Err(format!(
            "hekad test feeds TcpInput and LogstreamerInput; {other} reads from a \
             source the test cannot stand in for (test its splitter and decoder with \
             `data` instead)"
        )),
    }
}

/// How many messages the case expects, when it says.
fn expected_count(case: &Case) -> Option<usize> {
    if let Some(list) = &case.expect {
        return Some(list.len());
    }
    if let Some(n) = case.count {
        return Some(n);
    }
    let golden = std::fs::read(case.golden.as_ref()?).ok()?;
    Some(
        golden
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
    )
}

/// The plugin's termination and its sandbox failures, from the run's registry.
fn tally_of(registry: &Registry, name: &str) -> Tally {
    let mut tally = Tally {
        terminated: registry
            .terminations()
            .into_iter()
            .find(|t| t.plugin == name)
            .map(|t| t.message),
        ..Tally::default()
    };
    if let Some(stats) = registry.find(name) {
        let failed = stats.processing_errors.get() + stats.discarded_unintentional.get();
        tally.failures.extend(
            (0..failed).map(|_| "the message was dropped (encoder or framing failure)".to_owned()),
        );
    }
    tally
}

/// A stream's bytes as outputs: one message per frame when the output frames
/// (ProtobufEncoder, `use_framing`), else the whole stream as one output.
fn stream_outputs(bytes: Vec<u8>, framed: bool) -> Vec<Output> {
    if !framed {
        return vec![Output::Bytes(bytes)];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match heka_message::unframe(&bytes[at..], usize::MAX) {
            heka_message::Unframed::Message {
                message, consumed, ..
            } => {
                match heka_message::decode_message(message) {
                    Ok(m) => out.push(Output::Message(Box::new(m))),
                    Err(_) => out.push(Output::Bytes(message.to_vec())),
                }
                at += consumed;
            }
            _ => {
                out.push(Output::Bytes(bytes[at..].to_vec()));
                break;
            }
        }
    }
    out
}

/// A LogOutput as the daemon builds it, writing to the test's buffer.
fn log_output(
    config: &Config,
    name: &str,
    buffer: sink::LogBuffer,
) -> Result<Box<dyn heka_pipeline::Output>, SpecError> {
    let section = config.section(name).ok_or_else(|| {
        SpecError::from(invalid(
            &config.path,
            "plugin",
            format!("no section [{name}]"),
        ))
    })?;
    let cfg: LogOutputConfig = BuildContext::new(config, section).parse()?;
    Ok(Box::new(LogOutput::new(&cfg, Box::new(buffer))))
}

/// Adds the test's input (no splitter of its own: it routes messages).
fn add_input(assembled: &mut Assembled, input: Box<dyn heka_pipeline::Input>) {
    let splitter: heka_pipeline::SplitterFactory = Arc::new(|| {
        Box::new(heka_pipeline::splitters::NullSplitter) as Box<dyn heka_pipeline::Splitter>
    });
    let options = heka_pipeline::InputOptions::new(splitter, SplitOptions::default());
    assembled.inputs.push(("hekad-test".into(), input, options));
}

#[cfg(test)]
mod tests;
