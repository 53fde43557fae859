//! hekad's ops listener, end to end: it starts with the pipeline on `[hekad]
//! ops_address`, `/api/v1/status` and `/metrics` count what the pipeline did, `hekad
//! status` prints the plugins, a reload of a broken config answers 422 with the
//! section and key at fault (HTTP, `hekad reload`, SIGHUP) while the old pipeline keeps
//! delivering, one that cannot start answers 503 and the previous one runs again, SIGUSR1 writes Heka's report to the log, and valid reloads (HTTP,
//! SIGHUP, `hekad reload`) add and remove an output while lines keep arriving, with
//! every line delivered exactly once, in order.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use heka_e2e::{Daemon, free_port, http, http_get, plugin_names, run_hekad, wait_for, write};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn config(dir: &Path, port: u16, out: &Path, extra: &str) -> PathBuf {
    write(
        dir,
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{dir}/base"
ops_address = "127.0.0.1:{port}"

[app]
type = "LogstreamerInput"
log_directory = "{dir}/logs"
file_match = 'app\.log'

[out]
type = "FileOutput"
message_matcher = "Logger == 'app'"
path = "{out}"
encoder = "PayloadEncoder"
flush_interval = 0

[PayloadEncoder]
{extra}
"#,
            dir = dir.display(),
            out = out.display(),
        ),
    )
}

fn append(log: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .expect("open log");
    for i in from..to {
        writeln!(f, "line {i}").expect("append");
    }
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map_or(0, |t| t.lines().filter(|l| l.starts_with("line ")).count())
}

fn plugin<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["plugins"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no plugin {name} in {status}"))
}

#[test]
fn ops_listener_status_metrics_report_and_refused_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    let log = dir.path().join("logs/app.log");
    let out = dir.path().join("out.txt");
    let port = free_port();
    let cfg = config(dir.path(), port, &out, "");
    let mut daemon = Daemon::start(&cfg, dir.path());
    wait_for(WAIT, || http_get(port, "/readyz"))
        .unwrap_or_else(|| panic!("never ready: {}", daemon.log_text()));

    append(&log, 0, 5);
    wait_for(WAIT, || (lines_in(&out) == 5).then_some(()))
        .unwrap_or_else(|| panic!("5 lines not delivered: {}", daemon.log_text()));
    let status: Value = wait_for(WAIT, || {
        let s: Value = serde_json::from_str(&http_get(port, "/api/v1/status")?).ok()?;
        (plugin(&s, "out")["received_messages"] == 5).then_some(s)
    })
    .unwrap_or_else(|| panic!("status never counted 5: {}", daemon.log_text()));
    assert_eq!(plugin(&status, "app")["type"], "LogstreamerInput");
    assert_eq!(plugin(&status, "out")["type"], "FileOutput");
    assert_eq!(plugin(&status, "app")["sent_messages"], 5, "{status}");
    assert_eq!(status["config"]["generation"], 1);
    let metrics = http_get(port, "/metrics").expect("/metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("hekad_plugin_received_messages_total{")
                && l.contains("plugin=\"out\"")
                && l.ends_with(" 5")),
        "{metrics}"
    );

    let addr = format!("127.0.0.1:{port}");
    let table = run_hekad(&["status", "--ops", &addr]);
    assert!(table.status.success(), "{table:?}");
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("app ") && l.contains("LogstreamerInput")),
        "{stdout}"
    );

    // A broken config: refused with the section and key named, the old pipeline stays.
    config(
        dir.path(),
        port,
        &out,
        "[broken]\ntype = \"FileOutput\"\nmessage_matcher = \"Logger ==\"\npath = \"x\"\n",
    );
    let (code, body) = http(port, "POST", "/api/v1/reload").expect("reload answer");
    assert_eq!(code, 422, "{body}");
    let outcome: Value = serde_json::from_str(&body).expect("JSON outcome");
    let errors = outcome["errors"].to_string();
    assert!(
        errors.contains("broken") && errors.contains("message_matcher"),
        "{body}"
    );
    assert_eq!(outcome["generation"], 1);
    let cli = run_hekad(&["reload", "--ops", &addr]);
    assert!(!cli.status.success(), "{cli:?}");
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("message_matcher"),
        "{cli:?}"
    );
    // The third refusal, by SIGHUP (HTTP and `hekad reload` were the first two).
    daemon.signal(libc::SIGHUP);
    wait_for(WAIT, || {
        (reload_status(port)?["reload_failures"] == 3).then_some(())
    })
    .unwrap_or_else(|| panic!("SIGHUP reload not refused: {}", daemon.log_text()));

    // Valid but unable to start (the buffer directory lies under a regular file): 503,
    // and the previous configuration runs again.
    std::fs::write(dir.path().join("afile"), "").unwrap();
    let text = std::fs::read_to_string(config(dir.path(), port, &out, "")).unwrap();
    let text = text.replace("/base\"", "/afile/base\"").replace(
        "flush_interval = 0",
        "flush_interval = 0\nuse_buffering = true",
    );
    write(dir.path(), "hekad.toml", &text);
    let (code, body) = http(port, "POST", "/api/v1/reload").expect("reload answer");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("could not start") && body.contains("afile"),
        "{body}"
    );
    wait_for(WAIT, || http_get(port, "/readyz"))
        .unwrap_or_else(|| panic!("not ready again: {}", daemon.log_text()));
    append(&log, 5, 8);
    wait_for(WAIT, || (lines_in(&out) == 8).then_some(()))
        .unwrap_or_else(|| panic!("old pipeline stopped: {}", daemon.log_text()));
    let config_status: Value =
        serde_json::from_str(&http_get(port, "/api/v1/reload").expect("GET reload")).unwrap();
    assert_eq!(config_status["generation"], 1);
    // Three refusals (HTTP, `hekad reload`, SIGHUP) and the one that could not start.
    assert_eq!(config_status["reload_failures"], 4);
    assert!(
        config_status["last_reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("could not start")),
        "{config_status}"
    );

    daemon.signal(libc::SIGUSR1);
    wait_for(WAIT, || {
        let text = daemon.log_text();
        (text.contains("heka.all-report") && text.contains("InChanCapacity")).then_some(())
    })
    .unwrap_or_else(|| panic!("no report after SIGUSR1: {}", daemon.log_text()));
    daemon.stop_clean();
}

/// The numbers of the `line N` records in `path`, in file order.
fn numbers_in(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("line ")?.trim().parse().ok())
        .collect()
}

/// A live tail of `Logger == 'app'` (SSE over HTTP/1.0, so no chunking): the numbers
/// of the `line N` payloads it showed so far. Ends when hekad closes the stream.
fn tail(port: u16) -> std::sync::Arc<std::sync::Mutex<Vec<usize>>> {
    use std::io::BufRead;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET /api/v1/tail?match=Logger%20%3D%3D%20%27app%27 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .expect("tail request");
    let shown = seen.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(s).lines() {
            let Ok(line) = line else { return };
            let Some(at) = line.find("line ") else {
                continue;
            };
            let digits: String = line[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let (Ok(n), Ok(mut v)) = (digits.parse(), shown.lock()) {
                v.push(n);
            }
        }
    });
    seen
}

/// `GET /api/v1/reload`: generation, reload counts, last error.
fn reload_status(port: u16) -> Option<Value> {
    serde_json::from_str(&http_get(port, "/api/v1/reload")?).ok()
}

fn generation(port: u16) -> Option<u64> {
    reload_status(port)?["generation"].as_u64()
}

#[test]
fn reload_applies_a_changed_config_under_load_without_losing_a_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    let log = dir.path().join("logs/app.log");
    let (out, out2) = (dir.path().join("out.txt"), dir.path().join("out2.txt"));
    let port = free_port();
    let cfg = config(dir.path(), port, &out, "");
    let mut daemon = Daemon::start(&cfg, dir.path());
    wait_for(WAIT, || http_get(port, "/readyz"))
        .unwrap_or_else(|| panic!("never ready: {}", daemon.log_text()));

    // A live tail opened now must outlive the reloads (its tap is in the registry).
    let tailed = tail(port);
    // Lines keep coming during both reloads.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, log) = (stop.clone(), log.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                append(&log, n, n + 10);
                n += 10;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };
    wait_for(WAIT, || (lines_in(&out) > 0).then_some(()))
        .unwrap_or_else(|| panic!("nothing delivered: {}", daemon.log_text()));

    // A second output added over HTTP: generation 2, and it receives lines.
    let out2_section = format!(
        "[out2]\ntype = \"FileOutput\"\nmessage_matcher = \"Logger == 'app'\"\npath = \"{}\"\nencoder = \"PayloadEncoder\"\nflush_interval = 0\n",
        out2.display()
    );
    config(dir.path(), port, &out, &out2_section);
    let (code, body) = http(port, "POST", "/api/v1/reload").expect("reload answer");
    assert_eq!(code, 200, "{body}\n{}", daemon.log_text());
    let outcome: Value = serde_json::from_str(&body).expect("JSON outcome");
    assert_eq!(outcome["generation"], 2, "{body}");
    wait_for(WAIT, || (lines_in(&out2) > 0).then_some(()))
        .unwrap_or_else(|| panic!("the added output got nothing: {}", daemon.log_text()));
    let status: Value = serde_json::from_str(&http_get(port, "/api/v1/status").unwrap()).unwrap();
    assert_eq!(plugin(&status, "out2")["type"], "FileOutput");
    assert_eq!(status["config"]["generation"], 2);

    // Removed again by SIGHUP: generation 3, out2 gone from the status, out2 idle.
    config(dir.path(), port, &out, "");
    daemon.signal(libc::SIGHUP);
    wait_for(WAIT, || (generation(port) == Some(3)).then_some(()))
        .unwrap_or_else(|| panic!("SIGHUP reload not applied: {}", daemon.log_text()));
    let status: Value = serde_json::from_str(&http_get(port, "/api/v1/status").unwrap()).unwrap();
    let names = plugin_names(&status);
    assert!(!names.contains(&"out2"), "{names:?}");
    assert!(names.contains(&"out"), "{names:?}");
    let out2_after = lines_in(&out2);
    // `hekad reload` with nothing changed: every plugin kept, generation 4 all the same.
    let cli = run_hekad(&["reload", "--ops", &format!("127.0.0.1:{port}")]);
    assert!(cli.status.success(), "{cli:?}\n{}", daemon.log_text());
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "reloaded: config generation 4"
    );
    // SIGHUP with the files unchanged (logrotate's signal): outputs reopen, no reload.
    daemon.signal(libc::SIGHUP);
    wait_for(WAIT, || {
        daemon
            .log_text()
            .contains("configuration files are unchanged")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("SIGHUP not answered: {}", daemon.log_text()));
    assert_eq!(generation(port), Some(4));

    // The tail still shows lines, ones written after the last reload among them.
    let last_before = numbers_in(&out).last().copied().unwrap_or(0);
    wait_for(WAIT, || {
        let seen = tailed.lock().ok()?;
        seen.iter().any(|&n| n > last_before).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the live tail stopped at the reloads: {}",
            daemon.log_text()
        )
    });

    // Every line written reached `out` exactly once, in order.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().expect("writer");
    wait_for(WAIT, || (lines_in(&out) >= written).then_some(())).unwrap_or_else(|| {
        panic!(
            "{} of {written} lines: {}",
            lines_in(&out),
            daemon.log_text()
        )
    });
    daemon.stop_clean();
    assert_eq!(numbers_in(&out), (0..written).collect::<Vec<_>>());
    assert_eq!(
        lines_in(&out2),
        out2_after,
        "out2 received lines after its removal"
    );
    let log_text = daemon.log_text();
    assert!(
        log_text.contains("reload: the new configuration runs"),
        "{log_text}"
    );
}
