//! `hekad-bench run`: builds (or takes) hekad, generates the inputs, warms up, runs
//! every scenario `repeat` times interleaved with the baseline binary's, and prints
//! the table ([`crate::report`]) with the median row of each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::flood;
use crate::report::{print_table, report_run, uptime_load};
use crate::run::{Bench, Input, Inputs, Row, RunError, target_dir};
use crate::scenario::{LONG_LINE, SPREAD_FILES, Scenario};

/// The `run` subcommand's options.
#[derive(Args)]
pub struct RunOptions {
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
    /// Also run every scenario with this hekad (e.g. a build of the previous commit),
    /// interleaved with the first, as rows marked `[baseline]`.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Extra `[hekad]` settings for every daemon, e.g. `--set plugin_chansize=100`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    globals: Vec<String>,
    /// `[hekad]` settings for the baseline's daemons only (replacing `--set`'s), e.g.
    /// `--baseline-set 'ops_address=""'` with the same binary as `--baseline` to
    /// compare the ops listener on and off in one interleaved run.
    #[arg(long = "baseline-set", value_name = "KEY=VALUE")]
    baseline_globals: Vec<String>,
    /// Poll this ops listener (`GET /metrics` and `/api/v1/status`) every second for
    /// the whole run, as Prometheus and an open dashboard would (the metrics-cost
    /// measurement: see bench/RESULTS.md).
    #[arg(long, value_name = "HOST:PORT")]
    scrape: Option<String>,
}

/// `KEY=VALUE` arguments as `[hekad]` lines.
fn settings(kvs: &[String]) -> Result<Vec<String>> {
    kvs.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => Ok(format!("{} = {}", k.trim(), v.trim())),
            None => bail!("--set {kv:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// The `run` subcommand.
pub fn run(opts: RunOptions) -> Result<()> {
    let RunOptions {
        lines,
        seed,
        only,
        repeat,
        verbatim_rates,
        work,
        hekad,
        baseline,
        globals,
        baseline_globals,
        scrape,
    } = opts;
    let globals = settings(&globals)?;
    let baseline_globals = overridden(&globals, &settings(&baseline_globals)?);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("bench/ has no parent")?
        .to_path_buf();
    let target = target_dir(&repo);
    let hekad = match hekad {
        Some(h) => h,
        None => build_hekad(&repo, &target)?,
    };
    let scenarios = selected(&only)?;
    let work = work.unwrap_or_else(|| target.join("bench"));
    let inputs = generate(&work, seed, lines, &scenarios)?;
    let bench_for = |hekad: &PathBuf, inputs: Inputs, is_baseline: bool| Bench {
        hekad: hekad.clone(),
        repo: repo.clone(),
        work: work.clone(),
        inputs,
        idle: Duration::from_secs(20),
        globals: if is_baseline {
            baseline_globals.clone()
        } else {
            globals.clone()
        },
    };
    let binaries: Vec<(PathBuf, bool)> = std::iter::once((hekad, false))
        .chain(baseline.map(|b| (b, true)))
        .collect();

    // Warm-up: a tiny file through every daemon scenario that reads the main file
    // fills the compiled-wasm cache and the page cache's copy of the binaries.
    let warm_inputs = warm_inputs(&work, seed)?;
    let warm: Vec<(Bench, bool)> = binaries
        .iter()
        .map(|(h, b)| (bench_for(h, warm_inputs.clone(), *b), *b))
        .collect();
    warm_up(&warm, &scenarios)?;

    let benches: Vec<(Bench, bool)> = binaries
        .iter()
        .map(|(h, b)| (bench_for(h, inputs.clone(), *b), *b))
        .collect();
    let stop_scraping = Arc::new(AtomicBool::new(false));
    let scraping = scrape.map(|address| crate::scrape::scraper(address, stop_scraping.clone()));
    let rows = measure(&benches, &scenarios, repeat);
    stop_scraping.store(true, Ordering::Relaxed);
    let scraped = scraping.map(|s| s.join().unwrap_or(0));
    let rows = rows?;
    let written = &inputs.main;
    print_table(
        &rows,
        written.lines,
        written.bytes,
        repeat,
        uptime_load().as_deref(),
    );
    if let Some(answered) = scraped {
        println!(
            "\nops listener polled every second: {answered} answers with 200 (/metrics, /api/v1/status)"
        );
    }
    if !verbatim_rates.is_empty() {
        verbatim(&benches[0].0, &verbatim_rates, seed)?;
    }
    Ok(())
}

/// The scenarios `--only` names (numbers or names), or all of them.
fn selected(only: &[String]) -> Result<Vec<Scenario>> {
    if only.is_empty() {
        return Ok(Scenario::ALL.to_vec());
    }
    only.iter()
        .map(|s| Scenario::parse(s).with_context(|| format!("unknown scenario {s:?}")))
        .collect()
}

/// `globals` with `overrides` replacing the lines of the same key (the baseline's own
/// settings replace `--set`'s).
fn overridden(globals: &[String], overrides: &[String]) -> Vec<String> {
    let key = |line: &String| line.split(" = ").next().unwrap_or("").to_owned();
    globals
        .iter()
        .filter(|g| !overrides.iter().any(|o| key(o) == key(g)))
        .cloned()
        .chain(overrides.iter().cloned())
        .collect()
}

/// The warm-up's small copy of the main file (10,000 lines).
fn warm_inputs(work: &Path, seed: u64) -> Result<Inputs> {
    let warm_dir = work.join("warm");
    std::fs::create_dir_all(&warm_dir)?;
    let warm = flood::write_file(&warm_dir.join("access.log"), seed, 10_000)?;
    Ok(Inputs {
        main: Input {
            dir: warm_dir,
            lines: warm.lines,
            bytes: warm.bytes,
        },
        spread: None,
        long: None,
    })
}

/// `cargo build --release -p hekad`; the binary's path.
fn build_hekad(repo: &Path, target: &Path) -> Result<PathBuf> {
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
        .current_dir(repo)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo build --release -p hekad -p heka-guest-build failed");
    }
    Ok(target.join("release/hekad"))
}

/// Runs every scenario that [`warms`] once per binary, on the small warm-up input.
fn warm_up(benches: &[(Bench, bool)], scenarios: &[Scenario]) -> Result<()> {
    for (bench, is_baseline) in benches {
        for &s in scenarios {
            if !warms(s) || (*is_baseline && !s.has_baseline()) {
                continue;
            }
            match bench.run(s) {
                Err(RunError::Skipped(..)) => {}
                other => {
                    other.with_context(|| format!("warm-up of scenario {}", s.number()))?;
                }
            }
        }
    }
    Ok(())
}

/// Runs every scenario `repeat` times, interleaved (run i of every scenario and
/// binary before run i + 1 of any, so that a busy minute on the shared machine hits
/// all rows alike); the median run (by lines/s) of each.
fn measure(
    benches: &[(Bench, bool)],
    scenarios: &[Scenario],
    repeat: usize,
) -> Result<Vec<(Row, bool)>> {
    let mut runs: Vec<(Scenario, usize, Vec<Row>)> = Vec::new();
    for &s in scenarios {
        for (b, (_, is_baseline)) in benches.iter().enumerate() {
            if !*is_baseline || s.has_baseline() {
                runs.push((s, b, Vec::new()));
            }
        }
    }
    for i in 0..repeat.max(1) {
        for (s, b, rows) in &mut runs {
            let (bench, is_baseline) = &benches[*b];
            let row = match bench.run(*s) {
                Err(RunError::Skipped(n, why)) => {
                    eprintln!("  {n} skipped: {why}");
                    continue;
                }
                other => other.with_context(|| format!("scenario {}", s.number()))?,
            };
            report_run(&row, i, *is_baseline);
            rows.push(row);
        }
    }
    let mut rows = Vec::new();
    for (_, b, mut runs) in runs {
        if runs.is_empty() {
            continue;
        }
        runs.sort_by(|a, b| a.lines_per_sec().total_cmp(&b.lines_per_sec()));
        rows.push((runs.swap_remove(runs.len() / 2), benches[b].1));
    }
    Ok(rows)
}

/// The seed's verbatim Lua scripts at offered rates.
fn verbatim(bench: &Bench, rates: &[u64], seed: u64) -> Result<()> {
    println!(
        "\nThe seed's verbatim log_aggregator.lua (string concatenation) + slack_encoder.lua, ticker_interval = 1, 5 s per rate:\n"
    );
    println!(
        "| output_limit | lines/s offered | lines written | lines arrived | kept up | CPU-s | peak RSS (MiB) | termination reason |"
    );
    println!("|---:|---:|---:|---:|:---|---:|---:|:---|");
    for output_limit in [None, Some(8 << 20)] {
        for &rate in rates {
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
    Ok(())
}

/// Generates the main file, and the inputs of the scenarios that need their own.
fn generate(work: &Path, seed: u64, lines: u64, scenarios: &[Scenario]) -> Result<Inputs> {
    let dir = |name: &str| -> Result<PathBuf> {
        let d = work.join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };
    let logs = dir("logs")?;
    eprintln!(
        "generating {lines} lines (seed {seed}) in {}...",
        logs.display()
    );
    let main = flood::write_file(&logs.join("access.log"), seed, lines)?;
    let mut inputs = Inputs {
        main: Input {
            dir: logs,
            lines: main.lines,
            bytes: main.bytes,
        },
        spread: None,
        long: None,
    };
    if scenarios.contains(&Scenario::ManyFiles) {
        let d = dir("logs-spread")?;
        eprintln!(
            "spreading them over {SPREAD_FILES} files in {}...",
            d.display()
        );
        let w = flood::write_spread(&d, seed, lines, SPREAD_FILES)?;
        inputs.spread = Some(Input {
            dir: d,
            lines: w.lines,
            bytes: w.bytes,
        });
    }
    if scenarios.contains(&Scenario::LongLines) {
        let d = dir("logs-long")?;
        eprintln!("writing {LONG_LINE}-byte lines in {}...", d.display());
        let w = flood::write_long_lines(&d.join("access.log"), seed, main.bytes, LONG_LINE)?;
        inputs.long = Some(Input {
            dir: d,
            lines: w.lines,
            bytes: w.bytes,
        });
    }
    Ok(inputs)
}

/// Whether the warm-up runs `s` (on a small copy of the main file).
fn warms(s: Scenario) -> bool {
    !matches!(
        s,
        Scenario::Floor
            | Scenario::SeedCold
            | Scenario::ManyFiles
            | Scenario::LongLines
            | Scenario::FluentBit
    )
}
