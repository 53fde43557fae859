//! Helpers for the end-to-end tests in `tests/e2e/`, which drive the real `hekad`
//! binary: finding (and building) it, writing configs into temp dirs, running it with
//! captured output, free ports, and bounded polling; [`pki`] makes the certificates
//! of the TLS tests (here and in hekad's unit tests).
//!
//! The binary is built once per test process with `cargo build -p hekad --bin hekad`
//! into the same target directory as the tests: cargo builds binaries only for
//! integration tests of their own package, not for a dependent like this one.

pub mod cdp;
pub mod lines;
pub mod nats;
pub mod pki;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The target profile directory the test binary runs from (`target/<profile>`).
fn profile_dir() -> PathBuf {
    // current_exe = target/<profile>/deps/e2e-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path of an up-to-date `hekad` binary (built on first use).
pub fn hekad_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile = profile_dir();
        let target_dir = profile.parent().expect("target dir").to_path_buf();
        let release = profile.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        // `--workspace --tests`: the features `cargo test --workspace` unified, dev-
        // dependencies included, so this is the hekad that command already built (for
        // hekad's own integration tests) and nothing is compiled again. `--bin hekad`
        // alone (or `-p hekad`) resolves features without the dev-dependencies and
        // builds a second copy of wasmtime, rustls and the rest: minutes and gigabytes
        // on a clean clone.
        cmd.args(["build", "--workspace", "--tests", "--bin", "hekad"])
            .env("CARGO_TARGET_DIR", &target_dir);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build for hekad");
        assert!(status.success(), "building hekad failed");
        let bin = profile.join("hekad");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `hekad args...` to completion, with a 60 s ceiling.
pub fn run_hekad(args: &[&str]) -> Output {
    let mut child = Command::new(hekad_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hekad");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let status = wait_for(Duration::from_secs(60), || child.try_wait().ok().flatten());
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            panic!("hekad {args:?} did not exit within 60 s");
        }
    };
    Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// A running daemon whose stderr goes to a file; killed if still running when dropped.
pub struct Daemon {
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `hekad -config=<config>`, logging to `<dir>/hekad.log`.
    pub fn start(config: &Path, dir: &Path) -> Daemon {
        Daemon::spawn(Command::new(hekad_bin()), config, dir)
    }

    /// As [`Daemon::start`], with hekad's data limit (`RLIMIT_DATA`: heap and private
    /// writable mappings) set to `bytes` by util-linux's `prlimit`, which execs hekad
    /// (so [`Daemon::pid`] is hekad's).
    pub fn start_with_data_limit(config: &Path, dir: &Path, bytes: u64) -> Daemon {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--data={bytes}"))
            .arg("--")
            .arg(hekad_bin());
        Daemon::spawn(cmd, config, dir)
    }

    fn spawn(mut cmd: Command, config: &Path, dir: &Path) -> Daemon {
        let log = dir.join("hekad.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .arg(format!("-config={}", config.display()))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn hekad");
        Daemon { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The daemon's peak resident set so far (`VmHWM` in `/proc/<pid>/status`), in
    /// bytes; `None` once it has exited.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: i32) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// Waits up to `timeout` for the daemon to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_for(timeout, || self.child.try_wait().ok().flatten())
    }

    /// Sends SIGTERM and waits up to 30 s for exit code 0; panics with the log
    /// otherwise.
    pub fn stop_clean(&mut self) {
        self.signal(libc::SIGTERM);
        let status = self.wait(Duration::from_secs(30)).unwrap_or_else(|| {
            panic!(
                "hekad still running 30 s after SIGTERM; log:\n{}",
                self.log_text()
            )
        });
        assert_eq!(status.code(), Some(0), "log:\n{}", self.log_text());
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A hekad that the kill trials SIGKILL and start again with the same config and
/// directory (`tcp_agent`, `nats`), keeping the logs of its earlier runs (each start
/// truncates `hekad.log`).
pub struct Restartable {
    config: PathBuf,
    dir: PathBuf,
    daemon: Daemon,
    logs: String,
    started: Instant,
}

impl Restartable {
    pub fn start(config: PathBuf, dir: PathBuf) -> Restartable {
        let daemon = Daemon::start(&config, &dir);
        Restartable {
            config,
            dir,
            daemon,
            logs: String::new(),
            started: Instant::now(),
        }
    }

    /// How long the current run has been up.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// SIGKILL, waited for.
    pub fn kill(&mut self) {
        self.daemon.signal(libc::SIGKILL);
        self.daemon.wait(Duration::from_secs(10)).expect("killed");
        self.logs.push_str(&self.daemon.log_text());
        self.logs.push_str("---- SIGKILL ----\n");
    }

    /// A new run with the same config and directory.
    pub fn restart(&mut self) {
        self.daemon = Daemon::start(&self.config, &self.dir);
        self.started = Instant::now();
    }

    /// The logs of every run so far.
    pub fn all_logs(&self) -> String {
        format!("{}{}", self.logs, self.daemon.log_text())
    }

    /// SIGTERM; whether it exited with code 0 within 30 s.
    pub fn stop_clean(&mut self) -> bool {
        self.daemon.signal(libc::SIGTERM);
        let status = self.daemon.wait(Duration::from_secs(30));
        status.and_then(|s| s.code()) == Some(0)
    }
}

/// Installs Debian package `package` with `apt-get` when `command --version` does not
/// run; under `CI=true` a command still missing fails the test, elsewhere the caller
/// skips. Returns whether the command is there.
pub fn ensure_debian_package(command: &str, package: &str) -> bool {
    let have = || {
        Command::new(command)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have() {
        eprintln!("{command} missing: apt-get install -y {package}");
        let _ = Command::new("apt-get").arg("update").status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    if have() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{command} (Debian package {package}) is required under CI=true"
    );
    false
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

/// A plain HTTP/1.0 request to `127.0.0.1:port` with an empty body (hekad's ops
/// listener): the status code and body, or None if nothing answered.
pub fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// `GET path` on the ops listener at `port`: the body when the answer was 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path).and_then(|(code, body)| (code == 200).then_some(body))
}

/// The plugin names in an `/api/v1/status` answer, in its order.
pub fn plugin_names(status: &serde_json::Value) -> Vec<&str> {
    status["plugins"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default()
}
