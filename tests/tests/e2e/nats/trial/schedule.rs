//! When and what a NATS trial kills: one process of a kind its plan allows (an agent,
//! an aggregator, the broker node leading the stream), started again, and how long
//! to wait before the next kill. A long run (`Plan::min_kills`) picks among the kinds,
//! and the agents, still short of their kills.

use std::time::Duration;

use heka_e2e::nats::Nats;
use heka_fuzz::Rng;

use super::{AGENTS, Bounds, Plan, Procs, Tally};

/// The kinds of process a trial kills.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Agent,
    Aggregator,
    Broker,
}

/// The kinds the plan enables that are still short of `min_kills`: the agent kind
/// until each agent was killed that often, the others until the kind was.
fn wanted(plan: &Plan, t: &Tally) -> Vec<Kind> {
    let min = plan.min_kills;
    let mut short = Vec::new();
    if plan.kill_agent && t.agent.iter().any(|&n| n < min) {
        short.push(Kind::Agent);
    }
    if plan.kill_aggregator && t.aggregator.iter().sum::<u32>() < min {
        short.push(Kind::Aggregator);
    }
    if plan.kill_broker && t.broker < min {
        short.push(Kind::Broker);
    }
    short
}

/// Whether every kind the plan enables (and every agent) had its `min_kills`.
pub(super) fn enough_kills(plan: &Plan, t: &Tally) -> bool {
    wanted(plan, t).is_empty()
}

/// One of `from` at random, preferring those `short` holds.
fn pick<T: Copy>(rng: &mut Rng, from: &[T], short: impl Fn(T) -> bool) -> Option<T> {
    let preferred: Vec<T> = from.iter().copied().filter(|&x| short(x)).collect();
    let pool = if preferred.is_empty() {
        from
    } else {
        &preferred
    };
    pool.get(rng.below(pool.len().max(1))).copied()
}

/// Kills one process of a kind the plan allows (and starts it again); returns how
/// long to wait before the next kill. A long run picks among the kinds (and the
/// agents) still short of `min_kills`, so that every kind gets its kills without
/// waiting on the luck of the draw.
pub(super) fn kill_one(
    plan: &Plan,
    rng: &mut Rng,
    nats: &mut Nats,
    procs: &mut Procs,
    tally: &mut Tally,
) -> Duration {
    // An agent only once its journal was saved (`docs/delivery.md`: a run killed
    // before its first save replays everything it delivered).
    let ripe: Vec<usize> = (0..AGENTS)
        .filter(|&i| procs.agents[i].uptime() > Duration::from_secs(3))
        .collect();
    let mut kinds = Vec::new();
    if plan.kill_agent && !ripe.is_empty() {
        kinds.push(Kind::Agent);
    }
    if plan.kill_aggregator {
        kinds.push(Kind::Aggregator);
    }
    if plan.kill_broker {
        kinds.push(Kind::Broker);
    }
    let short = wanted(plan, tally);
    let Some(kind) = pick(rng, &kinds, |k| short.contains(&k)) else {
        return Duration::from_millis(200);
    };
    let back = Duration::from_millis(100 + rng.below(500) as u64);
    let min = plan.min_kills;
    match kind {
        Kind::Agent => {
            let i = pick(rng, &ripe, |i| tally.agent[i] < min).unwrap_or(ripe[0]);
            procs.agents[i].kill();
            std::thread::sleep(back);
            procs.agents[i].restart();
            tally.agent[i] += 1;
            tally.bound += Bounds::agent(plan.rate);
        }
        Kind::Aggregator => {
            let i = rng.below(2);
            procs.aggs[i].kill();
            std::thread::sleep(back);
            procs.aggs[i].restart();
            tally.aggregator[i] += 1;
            tally.bound += Bounds::aggregator();
        }
        Kind::Broker if plan.cluster => {
            if !kill_leader(rng, nats) {
                return Duration::from_millis(200);
            }
            tally.broker += 1;
            tally.bound += Bounds::leader();
        }
        Kind::Broker => {
            kill_node(rng, nats, 0);
            tally.broker += 1;
            tally.bound += Bounds::single_node(plan.rate);
        }
    }
    Duration::from_millis(500 + rng.below(2000) as u64)
}

/// SIGKILLs node `i` and starts it again 0.5-2 s later on the same store directory;
/// returns once it is healthy.
fn kill_node(rng: &mut Rng, nats: &mut Nats, i: usize) {
    nats.kill(i);
    std::thread::sleep(Duration::from_millis(500 + rng.below(1500) as u64));
    nats.spawn(i);
    nats.wait_healthy(i);
}

/// Kills the node leading the stream of a 3-node cluster and starts it again 0.5-2
/// s later; false when the stream is not ready for it.
fn kill_leader(rng: &mut Rng, nats: &mut Nats) -> bool {
    // A 3-node R3 stream survives the loss of one node at a time. A node that was
    // just restarted is healthy before it has caught up, so the leader is killed
    // only when every replica is current: the first long run killed the new leader
    // while the old one was still behind, leaving two of three replicas out of date
    // (no quorum: "no stream found" for minutes).
    if !nats.stream_current("HEKA") {
        return false;
    }
    let Some(leader) = nats.stream_leader("HEKA") else {
        return false;
    };
    kill_node(rng, nats, leader);
    let current = nats.wait_stream_current("HEKA", Duration::from_secs(60));
    assert!(
        current,
        "stream HEKA not current 60 s after node {} came back; its log:\n{}",
        nats.nodes[leader].name,
        nats.log(leader)
    );
    true
}
