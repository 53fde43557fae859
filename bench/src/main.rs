//! The `hekad-bench` command: `flood` (write a log), `receive` (count what a hekad
//! posts), `run` (the six-scenario benchmark). See `bench/RESULTS.md`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hekad_bench::run::{Bench, Row, target_dir};
use hekad_bench::scenario::Scenario;
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
    Run(RunOptions),
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
        Cmd::Run(opts) => run(opts)?,
    }
    Ok(())
}

/// The `run` subcommand's options.
#[derive(Args)]
struct RunOptions {
    /// Lines in the generated file.
    #[arg(long, default_value_t = 2_000_000)]
    lines: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scenarios to run (numbers 1-6 or floor,null,filter,wasm,native,lua).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Runs per scenario; the median (by lines/s) is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also run the seed's verbatim Lua aggregator at these rates (lines/s, 5 s each).
    #[arg(long, value_delimiter = ',')]
    verbatim_rates: Vec<u64>,
    /// Work directory (generated file, configs, logs).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Use this hekad instead of building target/release/hekad.
    #[arg(long)]
    hekad: Option<PathBuf>,
    /// Extra `[hekad]` settings for every daemon, e.g. `--set plugin_chansize=100`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    globals: Vec<String>,
}

fn run(opts: RunOptions) -> Result<()> {
    let RunOptions {
        lines,
        seed,
        only,
        repeat,
        verbatim_rates,
        work,
        hekad,
        globals,
    } = opts;
    let globals = globals
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => Ok(format!("{} = {}", k.trim(), v.trim())),
            None => bail!("--set {kv:?}: expected KEY=VALUE"),
        })
        .collect::<Result<Vec<_>>>()?;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ has no parent")?
        .to_path_buf();
    let target = target_dir(&repo);
    let hekad = match hekad {
        Some(h) => h,
        None => {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            // The scenarios load the seed's guests too (heka-guest-build builds them).
            eprintln!("building hekad (cargo build --release -p hekad -p heka-guest-build)...");
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--release",
                    "-p",
                    "hekad",
                    "-p",
                    "heka-guest-build",
                ])
                .current_dir(&repo)
                .status()
                .context("running cargo")?;
            if !status.success() {
                bail!("cargo build --release -p hekad -p heka-guest-build failed");
            }
            target.join("release/hekad")
        }
    };
    let scenarios: Vec<Scenario> = if only.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        only.iter()
            .map(|s| Scenario::parse(s).with_context(|| format!("unknown scenario {s:?}")))
            .collect::<Result<_>>()?
    };
    let work = work.unwrap_or_else(|| target.join("bench"));
    let logs = work.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log_file = logs.join("access.log");
    eprintln!(
        "generating {lines} lines (seed {seed}) in {}...",
        log_file.display()
    );
    let written = flood::write_file(&log_file, seed, lines)?;

    // Warm-up: a tiny file through every daemon scenario fills the compiled-wasm cache
    // and the page cache's copy of the binaries.
    let warm_dir = work.join("warm");
    std::fs::create_dir_all(&warm_dir)?;
    let warm_file = warm_dir.join("access.log");
    let warm = flood::write_file(&warm_file, seed, 10_000)?;
    let warm_bench = Bench {
        hekad: hekad.clone(),
        repo: repo.clone(),
        work: work.clone(),
        log_file: warm_file,
        lines: warm.lines,
        bytes: warm.bytes,
        idle: Duration::from_secs(20),
        globals: globals.clone(),
    };
    for &s in &scenarios {
        if s != Scenario::Floor {
            warm_bench
                .run(s)
                .with_context(|| format!("warm-up of scenario {}", s.number()))?;
        }
    }

    let bench = Bench {
        hekad,
        repo,
        work,
        log_file,
        lines: written.lines,
        bytes: written.bytes,
        idle: Duration::from_secs(20),
        globals,
    };
    let mut rows = Vec::new();
    for &s in &scenarios {
        let mut runs = Vec::new();
        for i in 0..repeat.max(1) {
            let row = bench
                .run(s)
                .with_context(|| format!("scenario {}", s.number()))?;
            eprintln!(
                "  {} run {}: {:.0} lines/s, first line after {} ms, {:.2} CPU-s, {} KiB peak",
                s.number(),
                i + 1,
                row.lines_per_sec(),
                row.first.as_millis(),
                row.usage.cpu_secs,
                row.usage.peak_rss_kib
            );
            let busiest: Vec<String> = row
                .threads
                .iter()
                .take(4)
                .map(|(name, secs)| format!("{name} {secs:.2}"))
                .collect();
            if !busiest.is_empty() {
                eprintln!("    threads (CPU-s): {}", busiest.join(", "));
            }
            runs.push(row);
        }
        runs.sort_by(|a, b| a.lines_per_sec().total_cmp(&b.lines_per_sec()));
        rows.push(runs.swap_remove(runs.len() / 2));
    }
    print_table(&rows, written.lines, written.bytes, repeat);

    if !verbatim_rates.is_empty() {
        println!(
            "\nThe seed's verbatim log_aggregator.lua (string concatenation) + slack_encoder.lua, ticker_interval = 1, 5 s per rate:\n"
        );
        println!(
            "| output_limit | lines/s offered | lines written | lines arrived | kept up | CPU-s | peak RSS (MiB) | termination reason |"
        );
        println!("|---:|---:|---:|---:|:---|---:|---:|:---|");
        for output_limit in [None, Some(8 << 20)] {
            for &rate in &verbatim_rates {
                let (w, got, usage, said) = bench.seed_verbatim_at(rate, 5, seed, output_limit)?;
                println!(
                    "| {} | {rate} | {w} | {got} | {} | {:.2} | {:.1} | {} |",
                    output_limit.map_or("64512 (default)".to_string(), |l| l.to_string()),
                    if got == w { "yes" } else { "no" },
                    usage.cpu_secs,
                    usage.peak_rss_kib as f64 / 1024.0,
                    if said.is_empty() {
                        "-".to_string()
                    } else {
                        said.replace('|', "/")
                    }
                );
            }
        }
    }
    Ok(())
}

fn print_table(rows: &[Row], lines: u64, bytes: u64, repeat: usize) {
    println!(
        "\n{lines} lines, {:.1} MB, median of {repeat} run(s) each\n",
        bytes as f64 / 1e6
    );
    println!(
        "| # | scenario | lines/s | MB/s | CPU-s/GB | peak RSS (MiB) | posts/reads | receiver CPU-s/GB |"
    );
    println!("|---:|:---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.2} | {} | {} | {:.2} |",
            r.scenario.number(),
            r.scenario.label(),
            r.lines_per_sec(),
            r.mb_per_sec(),
            r.cpu_secs_per_gb(),
            if r.scenario == Scenario::Floor {
                "-".to_string()
            } else {
                format!("{:.1}", r.usage.peak_rss_kib as f64 / 1024.0)
            },
            r.bodies,
            r.receiver_cpu_secs / (r.bytes as f64 / 1e9)
        );
    }
    let rate = |n: usize| {
        rows.iter()
            .find(|r| r.scenario.number() == n)
            .map(Row::lines_per_sec)
    };
    println!();
    for (a, b, what) in [
        (4, 1, "seed pipeline vs the floor"),
        (
            4,
            5,
            "wasm vs native (sandbox overhead; the target is >= 0.67, i.e. within 1.5x)",
        ),
        (6, 4, "Lua vs wasm"),
    ] {
        if let (Some(x), Some(y)) = (rate(a), rate(b)) {
            println!("ratio {a}/{b} ({what}): {:.3}", x / y);
        }
    }
}
