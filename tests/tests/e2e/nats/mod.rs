//! Agents → NATS JetStream → aggregators through the real binaries, with kills
//! (`trial`): a short run of each topology in CI, and a long `#[ignore]`d run with at
//! least 20 kills per kind whose output is recorded in `docs/scaleout.md`.
//!
//! `auth`: a user and password over TLS, and refused credentials.
//!
//! nats-server comes from the Debian package (installed when missing; under
//! `CI=true` a missing server fails these tests). `HEKA_NATS_SEED` replays a schedule.

mod auth;
mod trial;

use heka_e2e::nats::ensure_nats_server;
use trial::Plan;

fn seed() -> u64 {
    heka_e2e::lines::seed_from_env("HEKA_NATS_SEED")
}

#[test]
fn nats_r1_survives_agent_aggregator_and_broker_kills() {
    if !ensure_nats_server() {
        return;
    }
    let _heavy = crate::trials::heavy_lock();
    let plan = Plan {
        cluster: false,
        rate: 1000,
        seconds: 12,
        kill_agent: true,
        kill_aggregator: true,
        kill_broker: true,
        min_kills: 0,
    };
    println!("nats R1: {}", trial::run(&plan, seed()));
}

#[test]
fn nats_r3_cluster_survives_stream_leader_and_aggregator_kills() {
    if !ensure_nats_server() {
        return;
    }
    let _heavy = crate::trials::heavy_lock();
    let plan = Plan {
        cluster: true,
        rate: 1000,
        seconds: 15,
        kill_agent: false,
        kill_aggregator: true,
        kill_broker: true,
        min_kills: 0,
    };
    println!("nats R3: {}", trial::run(&plan, seed()));
}

/// The long run: at least 20 kills of each kind, and of each agent, R1 then R3
/// (`cargo test ... -- --ignored`).
#[test]
#[ignore = "long: several minutes; run by hand, record the output in docs/scaleout.md"]
fn nats_long_trials_with_20_kills_per_kind() {
    if !ensure_nats_server() {
        return;
    }
    let _heavy = crate::trials::heavy_lock();
    let r1 = Plan {
        cluster: false,
        rate: 1000,
        seconds: 0,
        kill_agent: true,
        kill_aggregator: true,
        kill_broker: true,
        min_kills: 20,
    };
    println!("nats R1 long: {}", trial::run(&r1, seed()));
    let r3 = Plan {
        cluster: true,
        rate: 1000,
        seconds: 0,
        kill_agent: true,
        kill_aggregator: true,
        kill_broker: true,
        min_kills: 20,
    };
    println!("nats R3 long: {}", trial::run(&r3, seed()));
}
