//! The seed post's pipeline ("Heka + Slack Integration", `shared/seeds/000_…`) running
//! for real: LogstreamerInput tails a log file -> SandboxFilter `log_aggregator`
//! (ticker_interval 1, can_exit false) -> HttpOutput with SandboxEncoder
//! `slack_encoder` -> a local HTTP server playing Slack's webhook.
//!
//! Lines are appended in bursts; after each burst the test waits (bounded poll) until
//! the server has accepted it, so every ticker interval carries exactly one burst.
//! Checked: every line arrives exactly once, in order, inside the `text` of Slack JSON
//! bodies with the seed's `icon_emoji`/`username`/`channel`; no body mixes two bursts;
//! rejected requests (500, 429 + Retry-After) lose nothing; the seed's Lua scripts,
//! verbatim, produce the same bodies as our wasm plugins; SIGTERM then exits 0.
//! Also: every example config under `config/` passes `hekad validate`.

mod webhook;

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use heka_e2e::{Daemon, hekad_bin, wait_for, write};
use serde_json::Value;

use webhook::{Reply, Webhook};

/// Generous: a loaded machine compiles the wasm components (fresh cache per test) slowly.
const WAIT: Duration = Duration::from_secs(30);

/// Burst sizes; a single-line burst and a larger one included.
const BURSTS: &[usize] = &[3, 5, 1, 7];

/// The workspace root (examples' relative paths resolve from there).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// The lines of each burst. They carry what JSON must escape (quotes, backslash, tab),
/// what lua-cjson escapes and we do not (`/`), and non-ASCII text.
fn bursts() -> Vec<Vec<String>> {
    let mut n = 0;
    BURSTS
        .iter()
        .map(|&size| {
            (0..size)
                .map(|_| {
                    n += 1;
                    format!(
                        "2014-12-14 09:00:{n:02} ERROR api: line {n} \"quoted\" back\\slash \
                         tab\there GET /v1/accounts/{n} café ✓"
                    )
                })
                .collect()
        })
        .collect()
}

/// Which sandbox implementation runs the seed's filter and encoder.
#[derive(Debug, Clone, Copy)]
enum Plugins {
    Wasm,
    /// The post's scripts, verbatim, through the Lua shim.
    Lua,
}

impl Plugins {
    fn files(self) -> (PathBuf, PathBuf) {
        match self {
            Plugins::Wasm => (
                heka_guest_build::log_aggregator(),
                heka_guest_build::slack_encoder(),
            ),
            Plugins::Lua => {
                let lua = workspace_root().join("config/lua");
                (
                    lua.join("log_aggregator.lua"),
                    lua.join("slack_encoder.lua"),
                )
            }
        }
    }
}

/// One hekad running the seed's pipeline in its own temp dir.
struct Seed {
    _dir: tempfile::TempDir,
    log: PathBuf,
    /// In a cell so that polls can ask whether it is still running (`&mut`).
    daemon: RefCell<Daemon>,
    plugins: Plugins,
}

impl Seed {
    fn start(plugins: Plugins, webhook_url: &str) -> Seed {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).expect("log dir");
        let log = logs.join("some_filename.log");
        std::fs::write(&log, "").expect("create the log file");
        let (filter, encoder) = plugins.files();
        for f in [&filter, &encoder] {
            assert!(f.exists(), "{} is missing", f.display());
        }
        // The post's configuration, with its paths made ours and a 1 s ticker.
        let config = format!(
            r#"
[hekad]
base_dir = "{base}"

[ExampleLog]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'some_filename.log'

[ExampleLogAggregator]
type = "SandboxFilter"
message_matcher = "Logger == 'ExampleLog'"
filename = "{filter}"
ticker_interval = 1
can_exit = false

[SlackEncoder]
type = "SandboxEncoder"
filename = "{encoder}"

[HttpOutput]
message_matcher = "Logger == 'ExampleLogAggregator'"
address = "{webhook_url}"
encoder = "SlackEncoder"
"#,
            base = dir.path().join("base").display(),
            logs = logs.display(),
            filter = filter.display(),
            encoder = encoder.display(),
        );
        let cfg = write(dir.path(), "hekad.toml", &config);
        let daemon = Daemon::start(&cfg, dir.path());
        Seed {
            _dir: dir,
            log,
            daemon: RefCell::new(daemon),
            plugins,
        }
    }

    /// Appends `lines` in one write, as a logging program would.
    fn append(&self, lines: &[String]) {
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .expect("open the log for appending");
        f.write_all(text.as_bytes()).expect("append to the log");
    }

    /// Everything useful when something went wrong.
    fn report(&self, hook: &Webhook) -> String {
        format!(
            "[{:?} pipeline]\nrequests received:\n{}hekad stderr:\n{}",
            self.plugins,
            hook.summary(),
            self.daemon.borrow().log_text()
        )
    }

    /// SIGTERM, then exit code 0 within the bound.
    fn stop(self, hook: &Webhook) {
        self.daemon.borrow().signal(libc::SIGTERM);
        let status = self.daemon.borrow_mut().wait(WAIT);
        let report = self.report(hook);
        let status =
            status.unwrap_or_else(|| panic!("hekad still running 30 s after SIGTERM\n{report}"));
        assert_eq!(status.code(), Some(0), "exit after SIGTERM\n{report}");
    }
}

/// A body parsed as JSON, checked to be the seed's Slack object; returns it.
fn slack_object(body: &str) -> Value {
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("webhook body is not JSON ({e}): {body:?}"));
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("webhook body is not a JSON object: {body}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["channel", "icon_emoji", "text", "username"],
        "Slack body keys: {body}"
    );
    assert_eq!(obj["icon_emoji"], ":heavy_exclamation_mark:", "{body}");
    assert_eq!(obj["username"], "something you like", "{body}");
    assert_eq!(obj["channel"], "#something", "{body}");
    assert!(obj["text"].is_string(), "text is a string: {body}");
    v
}

/// The log lines inside one body's `text` (records keep their "\n", as in Heka).
fn lines_in(body: &str) -> Vec<String> {
    let v = slack_object(body);
    let text = v["text"].as_str().unwrap_or_default();
    assert!(
        text.ends_with('\n'),
        "text holds whole records, each ending in \\n: {text:?}"
    );
    text.lines().map(str::to_owned).collect()
}

/// Feeds every burst to every (pipeline, webhook) pair, waiting after each burst until
/// each server has accepted all lines so far (at most [`WAIT`] per burst).
fn feed(pairs: &[(&Seed, &Webhook)], bursts: &[Vec<String>]) {
    let mut want: Vec<String> = Vec::new();
    for (i, burst) in bursts.iter().enumerate() {
        for (seed, _) in pairs {
            seed.append(burst);
        }
        want.extend(burst.iter().cloned());
        for (seed, hook) in pairs {
            let mut exited = false;
            let got = wait_for(WAIT, || {
                let got: Vec<String> = hook.accepted().iter().flat_map(|b| lines_in(b)).collect();
                if got.len() >= want.len() {
                    return Some(got);
                }
                // A daemon that stopped (bad config, fatal plugin) will deliver nothing more.
                exited = !seed.daemon.borrow_mut().running();
                exited.then_some(got)
            });
            let report = seed.report(hook);
            let got = got.unwrap_or_else(|| {
                panic!("burst {i}: not every line accepted within 30 s\n{report}")
            });
            assert!(!exited, "burst {i}: hekad exited early\n{report}");
            assert_eq!(
                got, want,
                "burst {i}: accepted lines = every line once, in order\n{report}"
            );
        }
    }
}

/// The accepted bodies grouped per burst; fails if a body mixes bursts.
fn per_burst(accepted: &[String], bursts: &[Vec<String>]) -> Vec<Vec<String>> {
    let burst_of = |line: &str| bursts.iter().position(|b| b.iter().any(|l| l == line));
    let mut groups = vec![Vec::new(); bursts.len()];
    for body in accepted {
        let lines = lines_in(body);
        let first = burst_of(&lines[0]).expect("a line that was written");
        assert!(
            lines.iter().all(|l| burst_of(l) == Some(first)),
            "one body per ticker interval, and bursts were one interval apart: {body}"
        );
        groups[first].push(body.clone());
    }
    groups
}

/// Runs the wasm seed pipeline against a webhook answering with `script`; checks
/// delivery, grouping and the clean stop; returns the webhook for further checks.
fn run_wasm(script: impl Fn(usize) -> Reply + Send + 'static) -> Webhook {
    let hook = Webhook::start(script);
    let seed = Seed::start(Plugins::Wasm, hook.url());
    let bursts = bursts();
    feed(&[(&seed, &hook)], &bursts);
    let accepted = hook.accepted();
    let groups = per_burst(&accepted, &bursts);
    assert!(
        groups.iter().all(|g| !g.is_empty()),
        "every burst arrived in its own bodies: {groups:?}"
    );
    for r in hook.received() {
        assert_eq!(r.method, "POST", "HttpOutput's default method");
    }
    // What the server rejected came back, byte for byte, and was accepted later.
    for r in hook.received().iter().filter(|r| !r.accepted()) {
        assert!(
            accepted.contains(&r.body),
            "a rejected body was resent and accepted: {}\n{}",
            r.body,
            seed.report(&hook)
        );
    }
    seed.stop(&hook);
    hook
}

#[test]
fn seed_pipeline_delivers_every_line_once_in_order_grouped_per_tick() {
    let hook = run_wasm(|_| Reply::OK);
    eprintln!(
        "seed e2e: {} lines in {} bursts -> {} Slack bodies",
        BURSTS.iter().sum::<usize>(),
        BURSTS.len(),
        hook.accepted().len()
    );
}

#[test]
fn seed_pipeline_survives_500s() {
    const FAILURES: usize = 3;
    let hook = run_wasm(|n| {
        if n < FAILURES {
            Reply {
                status: 500,
                retry_after: None,
            }
        } else {
            Reply::OK
        }
    });
    let rejected = hook.received().iter().filter(|r| !r.accepted()).count();
    assert_eq!(rejected, FAILURES, "{}", hook.summary());
    eprintln!(
        "seed e2e 500s: {} requests, {rejected} answered 500, {} Slack bodies accepted",
        hook.received().len(),
        hook.accepted().len()
    );
}

#[test]
fn seed_pipeline_honours_429_retry_after() {
    const THROTTLED: usize = 2;
    let hook = run_wasm(|n| {
        if n < THROTTLED {
            Reply {
                status: 429,
                retry_after: Some("1"),
            }
        } else {
            Reply::OK
        }
    });
    let received = hook.received();
    assert_eq!(
        received.iter().filter(|r| r.status == 429).count(),
        THROTTLED,
        "{}",
        hook.summary()
    );
    // A lower bound only (a loaded machine can only make the gap longer): the request
    // after a 429 waited for Retry-After (1 s), not for the 250 ms default backoff.
    for pair in received.windows(2).filter(|p| p[0].status == 429) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(900),
            "resent {gap:?} after a 429 with Retry-After: 1\n{}",
            hook.summary()
        );
        eprintln!("seed e2e 429: resent {gap:?} after a 429 with Retry-After: 1");
    }
    eprintln!(
        "seed e2e 429: {} requests, {THROTTLED} answered 429, {} Slack bodies accepted",
        received.len(),
        hook.accepted().len()
    );
}

#[test]
fn seed_lua_scripts_produce_the_same_slack_bodies_as_wasm() {
    let wasm_hook = Webhook::start(|_| Reply::OK);
    let lua_hook = Webhook::start(|_| Reply::OK);
    let wasm = Seed::start(Plugins::Wasm, wasm_hook.url());
    let lua = Seed::start(Plugins::Lua, lua_hook.url());
    let bursts = bursts();
    // Both pipelines get each burst at the same moment.
    feed(&[(&wasm, &wasm_hook), (&lua, &lua_hook)], &bursts);
    let wasm_groups = per_burst(&wasm_hook.accepted(), &bursts);
    let lua_groups = per_burst(&lua_hook.accepted(), &bursts);
    let parse = |g: &[String]| g.iter().map(|b| slack_object(b)).collect::<Vec<Value>>();
    for (i, (w, l)) in wasm_groups.iter().zip(&lua_groups).enumerate() {
        let (w, l) = (parse(w), parse(l));
        if w.len() == l.len() {
            // serde_json's Value compares objects by content, not key order; lua-cjson's
            // `\/` and our `/` parse to the same string.
            assert_eq!(l, w, "burst {i}: Lua bodies == wasm bodies");
        } else {
            // A ticker firing in the middle of a burst in one daemon only splits the
            // burst differently: a timing difference, not a plugin one. The joined
            // texts must still be the same.
            let text = |v: &[Value]| {
                v.iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<String>()
            };
            assert_eq!(text(&l), text(&w), "burst {i}: Lua text == wasm text");
            eprintln!(
                "note: burst {i} came in {} wasm and {} Lua bodies (ticker timing)",
                w.len(),
                l.len()
            );
        }
    }
    eprintln!(
        "seed e2e lua==wasm: {} wasm bodies, {} Lua bodies compared",
        wasm_hook.accepted().len(),
        lua_hook.accepted().len()
    );
    wasm.stop(&wasm_hook);
    lua.stop(&lua_hook);
}

/// The bytes of a Slack body's `"text"` value, unescaped (only the escapes the
/// encoders write for these lines: `\n`, `\"`, `\\`, `\/`). Parsed by hand because
/// the body is JSON whose strings hold the log's bytes as they are, not UTF-8.
fn raw_text(body: &[u8]) -> Vec<u8> {
    let key = b"\"text\":\"";
    let start = body
        .windows(key.len())
        .position(|w| w == key)
        .unwrap_or_else(|| panic!("no text in {:?}", String::from_utf8_lossy(body)))
        + key.len();
    let mut out = Vec::new();
    let mut i = start;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => break,
            b'\\' => {
                i += 1;
                out.push(match body.get(i) {
                    Some(b'n') => b'\n',
                    Some(&c) => c,
                    None => break,
                });
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// Bytes are bytes: a log written in Latin-1 (and a few bytes that are no text at
/// all) goes through the seed pipeline, wasm and Lua, and the bytes of the lines at
/// the receiver equal the bytes in the file.
#[test]
fn seed_pipeline_passes_bytes_that_are_not_utf8_unchanged() {
    let mut lines: Vec<u8> = Vec::new();
    for i in 0..20u8 {
        lines.extend_from_slice(b"caf\xe9 cr\xe8me br\xfbl\xe9e ");
        lines.extend_from_slice(&[0x80 + i, 0xff, 0xfe, b' ']);
        lines.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    for plugins in [Plugins::Wasm, Plugins::Lua] {
        let hook = Webhook::start(|_| Reply::OK);
        let seed = Seed::start(plugins, hook.url());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&seed.log)
            .expect("open the log");
        std::io::Write::write_all(&mut f, &lines).expect("append");
        let deadline = std::time::Instant::now() + WAIT;
        let got = loop {
            let got: Vec<u8> = hook
                .received()
                .iter()
                .filter(|r| r.accepted())
                .flat_map(|r| raw_text(&r.raw))
                .collect();
            if got.len() >= lines.len() || std::time::Instant::now() > deadline {
                break got;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            got,
            lines,
            "{plugins:?}: the receiver got the file's bytes\n{}",
            seed.report(&hook)
        );
        seed.stop(&hook);
    }
}

/// `hekad validate PATH` run from the workspace root, with a 60 s ceiling.
fn validate_from_root(path: &Path) -> std::process::Output {
    let mut cmd = Command::new(hekad_bin());
    cmd.arg("validate")
        .arg(path)
        .current_dir(workspace_root())
        // config/slack.toml reads its address from here; a dummy, never contacted.
        .env(
            "SLACK_WEBHOOK_URL",
            "https://hooks.slack.com/services/T0000/B0000/dummy-secret-token",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("hekad validate finishes within 60 s")
        .expect("run hekad validate")
}

#[test]
fn example_configs_pass_validate() {
    let dir = workspace_root().join("config");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("config/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    configs.sort();
    assert!(
        configs.iter().any(|p| p.ends_with("hekad.toml"))
            && configs.iter().any(|p| p.ends_with("slack.toml")),
        "the README's example configs are there: {configs:?}"
    );
    for config in &configs {
        // Relative, as the README's command line spells it.
        let rel = config.strip_prefix(workspace_root()).unwrap_or(config);
        let out = validate_from_root(rel);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "hekad validate {} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            rel.display(),
            out.status
        );
        assert!(
            !stdout.contains("dummy-secret-token") && !stderr.contains("dummy-secret-token"),
            "the webhook URL is never printed in full:\n{stdout}\n{stderr}"
        );
    }
}
