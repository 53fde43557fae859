//! The benchmark's printed output: a line per run while it goes, the Markdown table
//! of median rows with the ratios the issues ask for, and the load average beside
//! them (the machine is shared, so every figure says how busy it was).

use crate::run::Row;
use crate::scenario::Scenario;

/// One run's line on stderr, with its busiest threads.
pub fn report_run(row: &Row, i: usize, baseline: bool) {
    eprintln!(
        "  {}{} run {}: {:.0} lines/s, first line after {} ms, {:.2} CPU-s, {} KiB peak, receiver {:.2} CPU-s",
        row.scenario.number(),
        if baseline { " [baseline]" } else { "" },
        i + 1,
        row.lines_per_sec(),
        row.first.as_millis(),
        row.usage.cpu_secs,
        row.usage.peak_rss_kib,
        row.receiver_cpu_secs,
    );
    let busiest: Vec<String> = row
        .threads
        .iter()
        .take(5)
        .map(|(name, secs)| format!("{name} {secs:.2}"))
        .collect();
    if !busiest.is_empty() {
        eprintln!("    threads (CPU-s): {}", busiest.join(", "));
    }
}

/// The load averages, as `/proc/loadavg` gives them (the machine is shared).
pub fn uptime_load() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The Markdown table of `rows` and the ratios between scenarios.
pub fn print_table(
    rows: &[(Row, bool)],
    lines: u64,
    bytes: u64,
    repeat: usize,
    load: Option<&str>,
) {
    println!(
        "\n{lines} lines, {:.1} MB, median of {repeat} run(s) each, interleaved; load average at the end: {}\n",
        bytes as f64 / 1e6,
        load.unwrap_or("?")
    );
    println!(
        "| # | scenario | lines/s | MB/s | CPU-s/GB | peak RSS (MiB) | posts/reads | receiver CPU-s/GB | CPU µs/line (daemon + receiver) |"
    );
    println!("|---:|:---|---:|---:|---:|---:|---:|---:|---:|");
    for (r, baseline) in rows {
        println!(
            "| {} | {}{} | {:.0} | {:.1} | {:.2} | {} | {} | {:.2} | {:.3} |",
            r.scenario.number(),
            r.scenario.label(),
            if *baseline { " [baseline]" } else { "" },
            r.lines_per_sec(),
            r.mb_per_sec(),
            r.cpu_secs_per_gb(),
            if r.scenario == Scenario::Floor {
                "-".to_string()
            } else {
                format!("{:.1}", r.usage.peak_rss_kib as f64 / 1024.0)
            },
            r.bodies,
            r.receiver_cpu_secs / (r.bytes as f64 / 1e9),
            (r.usage.cpu_secs + r.receiver_cpu_secs) * 1e6 / r.lines.max(1) as f64
        );
    }
    let rate = |n: usize| {
        rows.iter()
            .find(|(r, baseline)| r.scenario.number() == n && !baseline)
            .map(|(r, _)| r.lines_per_sec())
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
        (7, 4, "workers = 4 vs 1 (requests in flight)"),
        (8, 4, "cold start vs warm"),
        (9, 4, "1,000 files vs one"),
        (10, 4, "100 filters vs one"),
    ] {
        if let (Some(x), Some(y)) = (rate(a), rate(b)) {
            println!("ratio {a}/{b} ({what}): {:.3}", x / y);
        }
    }
}
