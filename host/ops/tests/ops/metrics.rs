//! `/metrics` lint: the Rust rules first (names, units, `_total`, HELP/TYPE before
//! samples, labels from the allowed set, label values within their budget), then
//! `promtool check metrics` (Debian package `prometheus`, installed when missing;
//! under `CI=true` a missing promtool is a failure, never a skip).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{Harness, typed};

/// Labels a family may carry, and the most distinct values each may take here.
const LABELS: &[(&str, usize)] = &[
    ("plugin", 4),
    ("kind", 6),
    ("type", 4),
    ("engine", 2),
    ("reason", 8),
    ("stage", 3),
    ("intentional", 2),
    ("result", 2),
    ("version", 1),
];

/// Abbreviated or non-base units Prometheus naming rejects.
const BAD_UNITS: &[&str] = &[
    "_ns",
    "_ms",
    "_us",
    "_milliseconds",
    "_kb",
    "_mb",
    "_count_total",
];

fn lint(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: BTreeSet<String> = BTreeSet::new();
    let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen_samples: BTreeSet<String> = BTreeSet::new();
    let name_ok = |n: &str| {
        n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap().to_owned();
            let kind = parts.next().unwrap_or("").to_owned();
            if seen_samples.contains(&name) {
                problems.push(format!("{name}: TYPE after its samples"));
            }
            if types.insert(name.clone(), kind.clone()).is_some() {
                problems.push(format!("{name}: declared twice"));
            }
            if !name_ok(&name) {
                problems.push(format!("{name}: not snake_case"));
            }
            if !name.starts_with("hekad_") && !name.starts_with("process_") {
                problems.push(format!("{name}: no hekad_ prefix"));
            }
            if (kind == "counter") != name.ends_with("_total") {
                problems.push(format!("{name}: counters and only counters end in _total"));
            }
            if BAD_UNITS.iter().any(|u| name.contains(u)) {
                problems.push(format!("{name}: not a base unit"));
            }
            continue;
        }
        let (name, labels) = match line.find('{') {
            Some(i) => (&line[..i], &line[i + 1..line.rfind('}').unwrap()]),
            None => (line.split(' ').next().unwrap(), ""),
        };
        seen_samples.insert(name.to_owned());
        if !types.contains_key(name) || !helped.contains(name) {
            problems.push(format!("{name}: sample without HELP and TYPE"));
        }
        let value = line.rsplit(' ').next().unwrap();
        if value.parse::<f64>().is_err() {
            problems.push(format!("{name}: value {value:?}"));
        }
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
            if !LABELS.iter().any(|(l, _)| *l == k) {
                problems.push(format!("{name}: label {k} not in the allowed set"));
            }
            values
                .entry(k.to_owned())
                .or_default()
                .insert(v.trim_end_matches('"').to_owned());
        }
    }
    for (label, budget) in LABELS {
        let n = values.get(*label).map_or(0, |v| v.len());
        if n > *budget {
            problems.push(format!("label {label}: {n} values, budget {budget}"));
        }
    }
    problems
}

/// promtool, installing the `prometheus` package when it is missing.
fn promtool() -> Option<&'static str> {
    let have = || {
        Command::new("promtool")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have() {
        eprintln!("promtool missing: apt-get install -y prometheus");
        let _ = Command::new("apt-get").arg("update").status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "prometheus"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    if have() {
        return Some("promtool");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "promtool (Debian package prometheus) is required under CI=true"
    );
    eprintln!("SKIPPED: promtool unavailable and not under CI=true");
    None
}

#[test]
fn metrics_pass_the_lint_and_promtool() {
    let h = Harness::start(|_| {});
    h.send("x", 5);
    h.feed.send(typed("die")).unwrap();
    crate::common::eventually("a termination", || {
        h.get("/metrics").1.contains("reason=\"fatal_return\"} 1")
    });
    let (code, text) = h.get("/metrics");
    assert_eq!(code, 200);
    let problems = lint(&text);
    assert!(problems.is_empty(), "{problems:#?}\n{text}");
    for needle in [
        "hekad_build_info{version=",
        "hekad_router_messages_total ",
        "hekad_plugin_sent_messages_total{plugin=\"out\",kind=\"output\",type=\"TestOutput\"} ",
        "hekad_plugin_queue_capacity_batches{plugin=\"pass\",kind=\"filter\",type=\"TestFilter\"} 30",
        "hekad_plugin_up{plugin=\"dier\",kind=\"filter\",type=\"TestFilter\"} 0",
        "process_resident_memory_bytes ",
    ] {
        assert!(text.contains(needle), "missing {needle}\n{text}");
    }
    // The lint itself catches what it should.
    assert!(!lint("# HELP x_ns y\n# TYPE x_ns counter\nx_ns 1\n").is_empty());
    assert!(!lint("hekad_orphan 1\n").is_empty());

    if let Some(promtool) = promtool() {
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("promtool runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
