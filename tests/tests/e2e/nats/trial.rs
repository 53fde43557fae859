//! One NATS topology trial: two agent hekads (LogstreamerInput → NatsOutput,
//! disk-buffered), each tailing its own log whose lines carry the agent's prefix →
//! JetStream (one node R1, or three nodes R3 on loopback) → two aggregator hekads
//! sharing one durable consumer (NatsInput → FileOutput each). While lines are
//! written, processes are SIGKILLed at random moments (one of the agents, one of the
//! aggregators, the broker node leading the stream: with R1 the only node) and
//! started again.
//!
//! Checked, for each agent's lines apart: every line written is in one of the
//! aggregators' files (0 lost); no line appears that was never written; and for all
//! lines, the duplicates are within the sum of each kill's bound ([`Bounds`]); every
//! hekad stops with exit code 0 on SIGTERM.
//!
//! `schedule` decides what is killed when.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heka_e2e::lines::Lines;
use heka_e2e::nats::Nats;
use heka_e2e::{Restartable, wait_for, write};
use heka_fuzz::Rng;

mod schedule;
use schedule::{enough_kills, kill_one};

/// Bytes of a line without its newline.
const LINE_LEN: usize = 100;
/// The agent's NatsOutput window and batch; the aggregators' max_ack_pending.
const MAX_IN_FLIGHT: u64 = 1024;
const MAX_BATCH: u64 = 64;
const MAX_ACK_PENDING: u64 = 32;
/// LogstreamerInput's journal lag allowed on a loaded machine and its unit in lines
/// (`docs/delivery.md`).
const JOURNAL_LAG_MS: u64 = 2500;
const UNIT_LINES: u64 = 8192 / (LINE_LEN as u64 + 1) + 1;

/// What a trial does.
pub struct Plan {
    pub cluster: bool,
    /// Lines per second written to each agent's log.
    pub rate: u64,
    /// How long lines are written (when no kill count is asked for).
    pub seconds: u64,
    pub kill_agent: bool,
    pub kill_aggregator: bool,
    /// Kill the broker node leading the stream (R1: the only node, restarted on
    /// its store directory).
    pub kill_broker: bool,
    /// Go on until each enabled kind, and each agent, was killed this often.
    pub min_kills: u32,
}

/// The duplicates one kill may cause (see `docs/scaleout.md`).
struct Bounds;

impl Bounds {
    /// The agent resends what it sent after its buffer's last checkpoint (its window,
    /// the runner's flush batch and one record), and its input re-reads the journal's
    /// lag (as new messages, with new UUIDs).
    fn agent(rate: u64) -> u64 {
        MAX_IN_FLIGHT + 1024 + 1 + rate * JOURNAL_LAG_MS / 1000 + UNIT_LINES
    }
    /// What an aggregator delivered and had not acknowledged.
    fn aggregator() -> u64 {
        MAX_ACK_PENDING * MAX_BATCH
    }
    /// R3, the stream leader killed: publishes retried in another grouping (each
    /// agent's window), and the acks lost with the node (each aggregator's).
    fn leader() -> u64 {
        AGENTS as u64 * MAX_IN_FLIGHT + 2 * MAX_ACK_PENDING * MAX_BATCH
    }
    /// R1, the only node killed: the leader's bound, plus the acks the node had
    /// taken and not yet written to its consumer state. nats-server writes a
    /// consumer's state (`o.dat`) from a flusher goroutine, behind the acks, and
    /// after a restart redelivers what that file does not count as acked: at most
    /// what both agents wrote during [`CONSUMER_STATE_LAG_MS`] on a loaded machine.
    fn single_node(rate: u64) -> u64 {
        Bounds::leader() + AGENTS as u64 * rate * CONSUMER_STATE_LAG_MS / 1000
    }
}

/// How far behind the acks an R1 node's consumer state file may be when the node is
/// killed (the flusher writes it within ~100 ms; 1 s allows for a loaded machine).
const CONSUMER_STATE_LAG_MS: u64 = 1000;

/// How many agents publish to the stream.
const AGENTS: usize = 2;

/// Each agent's lines: the prefix tells the receiver whose line it is.
const LINES: [Lines; AGENTS] = [
    Lines {
        prefix: "nats-a",
        len: LINE_LEN,
    },
    Lines {
        prefix: "nats-b",
        len: LINE_LEN,
    },
];

fn agent_config(dir: &Path, logs: &Path, servers: &str, replicas: usize) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{base}"

[Logs]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'app\.log'

[ToNats]
type = "NatsOutput"
message_matcher = "Logger == 'Logs'"
servers = {servers}
subject = "heka.logs"
stream = "HEKA"
create_stream = true
replicas = {replicas}
max_in_flight = {MAX_IN_FLIGHT}
max_batch = {MAX_BATCH}
ack_timeout = "3s"

[ToNats.retries]
delay = "100ms"
max_delay = "1s"
max_jitter = "50ms"
"#,
        base = dir.join("base").display(),
        logs = logs.display(),
    );
    write(dir, "hekad.toml", &text)
}

fn aggregator_config(dir: &Path, servers: &str, out: &Path) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{base}"

[FromNats]
type = "NatsInput"
servers = {servers}
stream = "HEKA"
durable = "aggregators"
max_ack_pending = {MAX_ACK_PENDING}
ack_wait = "5s"

[PayloadEncoder]
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

/// How many times each agent's line numbers appear in the files.
fn received(outs: &[PathBuf]) -> Result<[HashMap<u64, u32>; AGENTS], String> {
    let mut seen = [(); AGENTS].map(|()| HashMap::new());
    for out in outs {
        for line in fs::read_to_string(out).unwrap_or_default().lines() {
            let agent = LINES
                .iter()
                .position(|l| {
                    line.strip_prefix(l.prefix)
                        .is_some_and(|r| r.starts_with(' '))
                })
                .ok_or_else(|| format!("a line of no agent: {line:?}"))?;
            LINES[agent].count(line, &mut seen[agent])?;
        }
    }
    Ok(seen)
}

/// Kills so far per kind (agents and aggregators: each one's), and the duplicates
/// they allow.
#[derive(Default, Debug)]
pub struct Tally {
    pub agent: [u32; AGENTS],
    pub aggregator: [u32; 2],
    pub broker: u32,
    pub bound: u64,
}

/// Runs the trial; returns a one-line summary.
pub fn run(plan: &Plan, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut nats = if plan.cluster {
        Nats::cluster()
    } else {
        Nats::single()
    };
    let servers = nats.servers_toml();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |p: &str| dir.path().join(p);
    for d in ["agent1", "agent2", "logs1", "logs2", "agg1", "agg2"] {
        fs::create_dir_all(path(d)).unwrap();
    }
    let mut logs = [1, 2].map(|i| File::create(path(&format!("logs{i}")).join("app.log")).unwrap());
    let outs = [path("agg1").join("out.log"), path("agg2").join("out.log")];
    let replicas = if plan.cluster { 3 } else { 1 };
    let mut agents = [1, 2].map(|i| {
        let (d, l) = (path(&format!("agent{i}")), path(&format!("logs{i}")));
        Restartable::start(agent_config(&d, &l, &servers, replicas), d)
    });
    let mut aggs = [1, 2].map(|i| {
        let d = path(&format!("agg{i}"));
        Restartable::start(aggregator_config(&d, &servers, &outs[i - 1]), d)
    });
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut written = [0u64; AGENTS];
    let mut next_kill = start + Duration::from_millis(1000 + rng.below(1500) as u64);
    let done = |t: &Tally| {
        if plan.min_kills == 0 {
            return start.elapsed() >= Duration::from_secs(plan.seconds);
        }
        enough_kills(plan, t)
    };
    let write_all = |logs: &mut [File; AGENTS], written: &mut [u64; AGENTS]| {
        for (i, log) in logs.iter_mut().enumerate() {
            written[i] = LINES[i].write_due(log, written[i], start, plan.rate);
        }
    };
    while !done(&tally) {
        write_all(&mut logs, &mut written);
        if Instant::now() >= next_kill {
            let mut procs = Procs {
                agents: &mut agents,
                aggs: &mut aggs,
            };
            let pause = kill_one(plan, &mut rng, &mut nats, &mut procs, &mut tally);
            next_kill = Instant::now() + pause;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    write_all(&mut logs, &mut written);
    drop(logs);
    let ctx = Ctx {
        seed,
        tally: &tally,
        written,
        nats: &nats,
    };
    let mut procs = Procs {
        agents: &mut agents,
        aggs: &mut aggs,
    };
    ctx.check(&outs, &mut procs)
}

/// The hekads of a trial.
struct Procs<'p> {
    agents: &'p mut [Restartable; AGENTS],
    aggs: &'p mut [Restartable; 2],
}

/// What a failure report names.
struct Ctx<'t> {
    seed: u64,
    tally: &'t Tally,
    written: [u64; AGENTS],
    nats: &'t Nats,
}

impl Ctx<'_> {
    fn report(&self, what: &str, procs: &Procs) -> String {
        let nats = self.nats;
        let nodes: String = (0..nats.nodes.len())
            .map(|i| format!("nats node {i}:\n{}", nats.log(i)))
            .collect();
        let [a1, a2] = &*procs.agents;
        let [g1, g2] = &*procs.aggs;
        format!(
            "{what} (seed {}, {:?}, {:?} written)\nagent 1:\n{}\nagent 2:\n{}\naggregator 1:\n{}\naggregator 2:\n{}\n{nodes}",
            self.seed,
            self.tally,
            self.written,
            a1.all_logs(),
            a2.all_logs(),
            g1.all_logs(),
            g2.all_logs(),
        )
    }

    /// Waits for every line, compares, stops everything cleanly.
    fn check(&self, outs: &[PathBuf], procs: &mut Procs) -> String {
        let written = self.written;
        let complete = wait_for(Duration::from_secs(120), || {
            let seen = received(outs).ok()?;
            (0..AGENTS)
                .all(|i| seen[i].len() as u64 >= written[i])
                .then_some(())
        });
        let seen = received(outs).unwrap_or_else(|e| panic!("{}", self.report(&e, procs)));
        for (i, seen) in seen.iter().enumerate() {
            let lost: Vec<u64> = (1..=written[i]).filter(|n| !seen.contains_key(n)).collect();
            assert!(
                complete.is_some() && lost.is_empty(),
                "{}",
                self.report(
                    &format!(
                        "agent {}: {} lines lost, first {:?}",
                        i + 1,
                        lost.len(),
                        &lost[..lost.len().min(10)]
                    ),
                    procs
                )
            );
        }
        let dups = seen
            .each_ref()
            .map(|s| s.values().map(|&c| u64::from(c) - 1).sum::<u64>());
        let (duplicates, bound) = (dups.iter().sum::<u64>(), self.tally.bound);
        assert!(
            duplicates <= bound,
            "{}",
            self.report(
                &format!("{duplicates} duplicates {dups:?} > bound {bound}"),
                procs
            )
        );
        let mut unclean = Vec::new();
        let names = ["agent 1", "agent 2", "aggregator 1", "aggregator 2"];
        let all = procs.agents.iter_mut().chain(procs.aggs.iter_mut());
        for (what, p) in names.into_iter().zip(all) {
            if !p.stop_clean() {
                unclean.push(what);
            }
        }
        assert!(
            unclean.is_empty(),
            "{}",
            self.report(&format!("{unclean:?} did not stop cleanly"), procs)
        );
        let t = self.tally;
        format!(
            "seed {}: {} lines ({} + {}), kills: {} agent ({} + {}), {} aggregator ({} + {}), {} broker; 0 lost, {duplicates} duplicates ({} + {}) (bound {bound})",
            self.seed,
            written.iter().sum::<u64>(),
            written[0],
            written[1],
            t.agent.iter().sum::<u32>(),
            t.agent[0],
            t.agent[1],
            t.aggregator.iter().sum::<u32>(),
            t.aggregator[0],
            t.aggregator[1],
            t.broker,
            dups[0],
            dups[1],
        )
    }
}
