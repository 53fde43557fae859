//! The dashboard in a real browser: hekad runs the seed pipeline (LogstreamerInput →
//! wasm log aggregator → Slack encoder → LogOutput) plus a hostile wasm filter (the
//! `infinite-loop` guest) and a Lua `circular_buffer` graph filter, and headless
//! Chromium, driven over the DevTools protocol (`heka_e2e::cdp`), opens the dashboard
//! served by hekad's ops listener.
//!
//! Checked: one row per plugin with moving rates (the sandbox encoder among them, with
//! its memory/output/budget gauges), a graph painted on the plugin page, the Lua
//! filter's cbuf drawn on the sandbox outputs page and its txt output shown as text,
//! the hostile plugin on the terminations page with its reason (instruction_limit),
//! the live tail showing exactly the matching messages, no console or CSP error and
//! no request leaving loopback. Screenshots go to `target/test-artifacts/`.
//! Chromium is installed when missing; under `CI=true` it is never skipped.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use heka_e2e::cdp::{Browser, ensure_chromium};
use heka_e2e::{Daemon, free_port, http_get, plugin_names, wait_for, write};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

fn append(log: &Path, lines: &[String]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)?;
    for l in lines {
        writeln!(f, "{l}")?;
    }
    Ok(())
}

/// A Heka-style graph filter: lines and bytes per second in a circular buffer (two
/// units, so two charts), reported as `cbuf` with a `txt` note beside it, and a third
/// output past `max_sandbox_outputs = 2`.
const LINE_GRAPH: &str = r#"
require "circular_buffer"
local graph = circular_buffer.new(10, 2, 1)
graph:set_header(1, "Lines", "count")
graph:set_header(2, "Bytes", "B")
local seen = 0

function process_message()
    local ts = read_message("Timestamp")
    graph:add(ts, 1, 1)
    graph:add(ts, 2, #(read_message("Payload") or ""))
    seen = seen + 1
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", "Line rate", graph)
    inject_payload("txt", "summary", "lines seen: ", seen)
    -- A third name: past max_sandbox_outputs = 2, not kept, counted.
    inject_payload("txt", "overflow", "not kept")
end
"#;

fn config(dir: &Path, port: u16) -> PathBuf {
    let text = format!(
        r#"
[hekad]
base_dir = "{dir}/base"
share_dir = "{dir}"
ops_address = "127.0.0.1:{port}"
max_sandbox_outputs = 2

[ExampleLog]
type = "LogstreamerInput"
log_directory = "{dir}/logs"
file_match = 'some_filename.log'

[ExampleLogAggregator]
type = "SandboxFilter"
message_matcher = "Logger == 'ExampleLog'"
filename = "{aggregator}"
ticker_interval = 1
can_exit = false

[Hostile]
type = "SandboxFilter"
message_matcher = "Logger == 'ExampleLog' && Payload =~ /HOSTILE/"
filename = "{hostile}"
can_exit = true

[LineGraph]
type = "SandboxFilter"
message_matcher = "Logger == 'ExampleLog'"
filename = "line_graph.lua"
ticker_interval = 1

[SlackEncoder]
type = "SandboxEncoder"
filename = "{encoder}"

[SlackOnStdout]
type = "LogOutput"
message_matcher = "Logger == 'ExampleLogAggregator'"
encoder = "SlackEncoder"
"#,
        dir = dir.display(),
        aggregator = heka_guest_build::log_aggregator().display(),
        encoder = heka_guest_build::slack_encoder().display(),
        hostile = heka_guest_build::testing::infinite_loop().display(),
    );
    write(dir, "line_graph.lua", LINE_GRAPH);
    write(dir, "hekad.toml", &text)
}

#[test]
fn the_dashboard_shows_the_pipeline_in_a_real_browser() {
    if !ensure_chromium() {
        eprintln!("SKIPPED: chromium unavailable and not under CI=true");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    let log = dir.path().join("logs/some_filename.log");
    append(
        &log,
        &["2014-12-14 09:00:00 ERROR api: HOSTILE line".to_owned()],
    )
    .expect("write the log");
    let port = free_port();
    let mut daemon = Daemon::start(&config(dir.path(), port), dir.path());
    let status = wait_for(WAIT, || http_get(port, "/api/v1/status"))
        .unwrap_or_else(|| panic!("no status from hekad: {}", daemon.log_text()));
    let status: Value = serde_json::from_str(&status).unwrap();
    let plugin_count = status["plugins"].as_array().unwrap().len();
    assert_eq!(plugin_count, 6, "{status}");

    // Lines keep arriving while the browser looks (rates move).
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, log) = (stop.clone(), log.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let line = format!("2014-12-14 09:00:01 INFO bg: background line {n}");
                // The directory goes when the test fails early; stop writing then.
                if append(&log, &[line]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let mut b = Browser::start((1280, 800));
    let base = format!("http://127.0.0.1:{port}");
    b.goto(&format!("{base}/#/"));
    b.wait_for(
        "the first render",
        "document.body.dataset.ready === '1'",
        WAIT,
    );
    // One row per plugin of the config, named as in the config, in the status's order.
    let names = plugin_names(&status);
    for name in [
        "ExampleLog",
        "ExampleLogAggregator",
        "Hostile",
        "LineGraph",
        "SlackEncoder",
        "SlackOnStdout",
    ] {
        assert!(names.contains(&name), "{name} missing from {status}");
    }
    let rows = b.wait_for(
        "one row per plugin",
        &format!(
            "(() => {{ const r = [...document.querySelectorAll('#plugins tr.plugin')]; \
             return r.length === {plugin_count} && JSON.stringify(r.map(x => x.dataset.plugin)); }})()"
        ),
        WAIT,
    );
    let rows: Vec<String> = serde_json::from_str(rows.as_str().unwrap()).unwrap();
    assert_eq!(rows, names);
    // Moving rates: the input's rate is positive and the rates change between polls.
    let rates = "JSON.stringify([...document.querySelectorAll('#plugins tr.plugin')].map(r => r.querySelector('.rate-out').textContent))";
    b.wait_for(
        "the input's rate",
        "parseFloat(document.querySelector('tr[data-plugin=\"ExampleLog\"] .rate-out').textContent) > 0",
        WAIT,
    );
    let first = b.eval(rates);
    b.wait_for("rates to move", &format!("{rates} !== {first}"), WAIT);
    encoder_gauges(&mut b, port);
    std::fs::write(artifacts().join("dashboard-overview.png"), b.screenshot()).unwrap();

    // A graph painted: saturated pixels (the lines, not the grey grid) on the rate chart.
    b.eval("location.hash = '#/plugin/ExampleLog'");
    let painted = "(() => { const c = document.getElementById('c-rate'); if (!c) return 0; \
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
        for (let i = 0; i < d.length; i += 4) { const [r, g, bl] = [d[i], d[i+1], d[i+2]]; \
        if (Math.max(r, g, bl) - Math.min(r, g, bl) > 40) n++; } return n > 200 ? n : 0; })()";
    b.wait_for("a painted graph", painted, WAIT);
    std::fs::write(artifacts().join("dashboard-plugin.png"), b.screenshot()).unwrap();
    sandbox_outputs(&mut b, port);

    // The hostile plugin on the terminations page, with its reason.
    b.eval("location.hash = '#/terminations'");
    let reason = b.wait_for(
        "the hostile plugin's termination",
        "(document.querySelector('#terminations tr[data-plugin=\"Hostile\"] .reason') || {}).textContent",
        WAIT,
    );
    assert_eq!(reason, "instruction_limit");
    std::fs::write(
        artifacts().join("dashboard-terminations.png"),
        b.screenshot(),
    )
    .unwrap();

    // The live tail shows exactly the matching messages.
    b.eval("location.hash = '#/tail'");
    b.wait_for(
        "the tail page",
        "document.getElementById('tail-match') && 1",
        WAIT,
    );
    b.eval("document.getElementById('tail-match').value = \"Logger == 'ExampleLog' && Payload =~ /MATCH/\"; document.getElementById('tail-start').click(); 1");
    b.wait_for(
        "the tail to open",
        "document.body.dataset.tail === 'open'",
        WAIT,
    );
    let mut lines = Vec::new();
    for i in 0..3 {
        lines.push(format!("2014-12-14 09:00:02 WARN api: MATCH number {i}"));
        lines.push(format!("2014-12-14 09:00:02 WARN api: other number {i}"));
    }
    lines.push("2014-12-14 09:00:03 WARN api: MATCH last".to_owned());
    append(&log, &lines).expect("write the log");
    let shown = b.wait_for(
        "the matching lines in the tail",
        "(() => { const t = [...document.querySelectorAll('#tail-list li summary')].map(s => s.textContent); \
         return t.some(x => x.includes('MATCH last')) ? JSON.stringify(t) : ''; })()",
        WAIT,
    );
    let shown: Vec<String> = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(shown.iter().all(|s| s.contains("MATCH")), "{shown:#?}");
    std::fs::write(artifacts().join("dashboard-tail.png"), b.screenshot()).unwrap();
    b.eval("document.getElementById('tail-stop').click(); 1");

    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let errors = b.errors();
    assert!(errors.is_empty(), "browser errors: {errors:#?}");
    let page_errors = b.eval("JSON.stringify(window.__hekad.errors)");
    assert_eq!(page_errors, "[]");
    let requests = b.requests();
    assert!(!requests.is_empty());
    let outside: Vec<_> = requests
        .iter()
        .filter(|u| !u.starts_with(&format!("{base}/")))
        .collect();
    assert!(outside.is_empty(), "requests off loopback: {outside:#?}");
    drop(b);
    daemon.signal(libc::SIGTERM);
    assert!(
        daemon.wait(WAIT).is_some_and(|s| s.success()),
        "{}",
        daemon.log_text()
    );
}

/// The sandbox encoder's gauges: in the status (engine, limits, memory once it ran,
/// messages encoded) and as the three limit bars of its overview row.
fn encoder_gauges(b: &mut Browser, port: u16) {
    let encoder = wait_for(WAIT, || {
        let status: Value = serde_json::from_str(&http_get(port, "/api/v1/status")?).ok()?;
        let p = status["plugins"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == "SlackEncoder")?
            .clone();
        (p["sandbox"]["memory_bytes"].as_u64()? > 0 && p["sent_messages"].as_u64()? > 0)
            .then_some(p)
    })
    .expect("the encoder's stats");
    assert_eq!(encoder["kind"], "encoder", "{encoder}");
    assert_eq!(encoder["type"], "SandboxEncoder", "{encoder}");
    let sandbox = &encoder["sandbox"];
    assert_eq!(sandbox["engine"], "wasm", "{encoder}");
    assert_eq!(sandbox["memory_limit_bytes"], 8 * 1024 * 1024, "{encoder}");
    assert!(
        sandbox["output_max_bytes"].as_u64().unwrap() > 0,
        "{encoder}"
    );
    let metrics = http_get(port, "/metrics").expect("/metrics");
    let labels = "plugin=\"SlackEncoder\",kind=\"encoder\",type=\"SandboxEncoder\",engine=\"wasm\"";
    assert!(
        metrics.contains(&format!(
            "hekad_sandbox_memory_limit_bytes{{{labels}}} 8388608\n"
        )),
        "{metrics}"
    );
    // The Lua graph filter's outputs: two kept (`max_sandbox_outputs = 2`), the third
    // name refused and counted.
    let labels = "plugin=\"LineGraph\",kind=\"filter\",type=\"SandboxFilter\",engine=\"lua\"";
    wait_for(WAIT, || {
        let metrics = http_get(port, "/metrics")?;
        (metrics.contains(&format!("hekad_sandbox_outputs{{{labels}}} 2\n"))
            && !metrics.contains(&format!(
                "hekad_sandbox_outputs_refused_total{{{labels}}} 0\n"
            )))
        .then_some(())
    })
    .expect("hekad_sandbox_outputs of LineGraph: 2 kept, some refused");
    b.wait_for(
        "the encoder's limit bars",
        "document.querySelectorAll('tr[data-plugin=\"SlackEncoder\"] .limits .bar').length === 3",
        WAIT,
    );
}

/// The sandbox outputs page: the Lua filter's cbuf drawn (one chart per unit, both
/// painted), its txt output shown as text, and the cbuf text over HTTP.
fn sandbox_outputs(b: &mut Browser, port: u16) {
    let raw = wait_for(WAIT, || {
        http_get(port, "/api/v1/sandbox_outputs/LineGraph/Line%20rate")
    })
    .expect("the cbuf over HTTP");
    // Wasm and Lua alike: the wasm aggregator's txt output is kept too.
    let list: Value =
        serde_json::from_str(&http_get(port, "/api/v1/sandbox_outputs").unwrap()).unwrap();
    let kept: Vec<(&str, &str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let s = |k: &str| o[k].as_str().unwrap_or("");
            (s("plugin"), s("name"), s("type"))
        })
        .collect();
    assert!(
        kept.contains(&("ExampleLogAggregator", "", "txt")),
        "{kept:?}"
    );
    assert!(
        kept.contains(&("LineGraph", "Line rate", "cbuf")),
        "{kept:?}"
    );
    assert!(!kept.iter().any(|o| o.1 == "overflow"), "{kept:?}");
    assert!(raw.starts_with("{\"time\":"), "{raw}");
    assert!(
        raw.contains("\"column_info\":[{\"name\":\"Lines\",\"unit\":\"count\""),
        "{raw}"
    );
    b.eval("location.hash = '#/outputs'");
    let painted = "(() => { const cs = [...document.querySelectorAll('canvas.cbuf[data-plugin=\"LineGraph\"]')]; \
        if (cs.length !== 2) return 0; \
        return cs.map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
        for (let i = 0; i < d.length; i += 4) { if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 40) n++; } \
        return n; }).every(n => n > 200) ? 1 : 0; })()";
    b.wait_for("both cbuf charts painted", painted, WAIT);
    let text = b.wait_for(
        "the txt output",
        "(document.querySelector('section.output[data-name=\"summary\"] pre.payload') || {}).textContent",
        WAIT,
    );
    assert!(
        text.as_str().is_some_and(|t| t.starts_with("lines seen: ")),
        "{text}"
    );
    std::fs::write(artifacts().join("dashboard-outputs.png"), b.screenshot()).unwrap();
}
