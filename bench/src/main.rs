//! The `hekad-bench` command: `flood` (write a log), `receive` (count what a hekad
//! posts), `run` (the scenario benchmark, [`hekad_bench::command`]), `nats`. See
//! `bench/RESULTS.md`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use hekad_bench::{flood, receiver};

#[derive(Parser)]
#[command(about = "hekad-rs's load generator, receivers and end-to-end benchmark")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes deterministic nginx-style access lines (100–250 bytes) to a file.
    Flood {
        /// The file (replaced, or appended to with --rate).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2_000_000)]
        lines: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Lines per second, appended as they are due (default: as fast as possible).
        #[arg(long)]
        rate: Option<u64>,
    },
    /// Runs the Slack-webhook receiver on 127.0.0.1 and prints lines/s every second.
    Receive {
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Runs the benchmark scenarios and prints the table.
    Run(hekad_bench::command::RunOptions),
    /// Agent -> NATS JetStream -> aggregator throughput (needs nats-server on PATH).
    Nats(hekad_bench::nats::NatsOptions),
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Flood {
            out,
            lines,
            seed,
            rate,
        } => {
            let start = Instant::now();
            let w = match rate {
                None => flood::write_file(&out, seed, lines),
                Some(rate) => flood::append_at_rate(&out, seed, 0, lines, rate),
            }
            .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{} lines, {} bytes in {:.2} s",
                w.lines,
                w.bytes,
                start.elapsed().as_secs_f64()
            );
        }
        Cmd::Receive { threads } => {
            let rx = receiver::HttpReceiver::start(threads)?;
            println!("listening on {}", rx.url());
            let mut last = 0;
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let seen = rx.tally().seen();
                println!(
                    "{} lines/s ({} in all, {} bodies)",
                    seen.lines - last,
                    seen.lines,
                    seen.bodies
                );
                last = seen.lines;
            }
        }
        Cmd::Run(opts) => hekad_bench::command::run(opts)?,
        Cmd::Nats(opts) => hekad_bench::nats::command(opts)?,
    }
    Ok(())
}
