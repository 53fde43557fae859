//! `hekad-bench`: measures hekad end to end, as its users run it.
//!
//! Heka shipped `heka-flood` to load a daemon; this crate is that plus the other
//! half: [`flood`] writes deterministic access-log lines, [`receiver`] counts what
//! arrives (an HTTP server for Slack-style JSON bodies, a pipe for stdout), and
//! [`run`] starts a fresh `hekad` per [`scenario`] on the same generated file and
//! samples CPU and peak RSS from `/proc` the moment the last line arrives. The
//! command (`cargo run --release -p hekad-bench -- run`) prints a Markdown table
//! with the ratios; `bench/RESULTS.md` keeps the figures.
//!
//! It drives the real binary over real files and sockets rather than calling the
//! pipeline in-process, so what it measures includes everything a user pays for:
//! file reads, thread hand-offs, HTTP, and start-up.

pub mod command;
pub mod flood;
pub mod nats;
pub mod proc_stats;
pub mod receiver;
pub mod report;
pub mod run;
pub mod scenario;
pub mod scrape;
