//! A headless Chromium driven over the DevTools protocol, for the dashboard test.
//!
//! `--remote-debugging-pipe` makes Chromium read commands on fd 3 and answer on fd 4
//! (JSON messages ended by a NUL byte), so no WebSocket client, driver binary or
//! crate is needed: two pipes and `serde_json` (Puppeteer's `pipe: true` does the same). Every event is kept, so the test can
//! check afterwards that nothing was logged as an error and no request left loopback.
//!
//! Chromium runs with the flags the design names (headless, no sandbox, no GPU, no
//! QUIC, no first run, no background networking, component updates or sync) and a
//! fresh `--user-data-dir`; it is killed when the [`Browser`] is dropped.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Chromium binary (Debian package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Chromium when missing (`apt-get`); under `CI=true` a browser that is still
/// missing fails the test, elsewhere the caller skips. Returns whether it is there.
pub fn ensure_chromium() -> bool {
    crate::ensure_debian_package(CHROMIUM, "chromium")
}

/// A running browser with one page attached.
pub struct Browser {
    child: Child,
    to: File,
    from: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
    /// Every event received so far (method, params).
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2");
    (fds[0], fds[1])
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a blank page.
    pub fn start(window: (u32, u32)) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let (cmd_r, cmd_w) = pipe();
        let (resp_r, resp_w) = pipe();
        let mut command = Command::new(CHROMIUM);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
                &format!("--window-size={},{}", window.0, window.1),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // The pipe ends must land on fds 3 and 4 without the close-on-exec flag. They
        // may already *be* 3 or 4 (a dup2 onto itself keeps the flag, so Chromium would
        // find fd 3 closed and never answer), or one may sit where the other must go:
        // copy both above 9 first, then dup2 down (dup2 clears the flag on the copy).
        // SAFETY: only async-signal-safe fcntl/dup2 calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let high_r = libc::fcntl(cmd_r, libc::F_DUPFD_CLOEXEC, 10);
                let high_w = libc::fcntl(resp_w, libc::F_DUPFD_CLOEXEC, 10);
                if high_r < 0
                    || high_w < 0
                    || libc::dup2(high_r, 3) < 0
                    || libc::dup2(high_w, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn chromium");
        // SAFETY: these descriptors are ours; the child has its own copies.
        let (to, from_file) = unsafe {
            libc::close(cmd_r);
            libc::close(resp_w);
            (File::from_raw_fd(cmd_w), File::from_raw_fd(resp_r))
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_file);
            let mut buf = Vec::new();
            while reader.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
                buf.clear();
            }
        });
        let mut browser = Browser {
            child,
            to,
            from: rx,
            next_id: 0,
            session: None,
            events: Vec::new(),
            _profile: profile,
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = Some(
            attached["sessionId"]
                .as_str()
                .expect("sessionId")
                .to_owned(),
        );
        for domain in [
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
            "Page.enable",
        ] {
            browser.call(domain, json!({}));
        }
        browser
    }

    /// Sends a command (to the page once attached) and waits for its answer.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("JSON");
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from.recv_timeout(left) {
                Ok(v) if v["id"] == json!(id) => {
                    assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
                    return v["result"].clone();
                }
                Ok(v) => {
                    if v.get("method").is_some() {
                        self.events.push(v);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("{method}: no answer within 30 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("{method}: chromium went away"),
            }
        }
    }

    /// Evaluates `expression` in the page: its value (promises awaited), or the
    /// exception it threw.
    pub fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        match r.get("exceptionDetails") {
            Some(e) => Err(e.clone()),
            None => Ok(r["result"]["value"].clone()),
        }
    }

    /// Evaluates `expression` in the page and returns its value; panics if it throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// Polls `expression` until it is truthy, for at most `timeout`. Exceptions count
    /// as "not yet" (the page may still be loading); the last one is in the panic.
    pub fn wait_for(&mut self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.try_eval(expression) {
                Ok(v) if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) => {
                    return v;
                }
                Ok(v) | Err(v) => v,
            };
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what} ({expression}); last: {last}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts navigating to `url` (follow with [`Browser::wait_for`]).
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// A PNG of the page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64_decode(r["data"].as_str().expect("screenshot data"))
    }

    /// Takes events that arrived while no command was waiting.
    pub fn drain_events(&mut self) {
        while let Ok(v) = self.from.try_recv() {
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Console errors, exceptions and error log entries (CSP violations and failed
    /// loads among them), as text.
    pub fn errors(&mut self) -> Vec<String> {
        self.drain_events();
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.consoleAPICalled"
                    if matches!(e["params"]["type"].as_str(), Some("error" | "assert")) =>
                {
                    Some(format!("console: {}", e["params"]["args"]))
                }
                "Runtime.exceptionThrown" => {
                    Some(format!("exception: {}", e["params"]["exceptionDetails"]))
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(format!("log: {}", e["params"]["entry"]))
                }
                _ => None,
            })
            .collect()
    }

    /// The URL of every request the page made.
    pub fn requests(&mut self) -> Vec<String> {
        self.drain_events();
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (the screenshot's encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64_decode("aGVrYWQ="), b"hekad");
        assert_eq!(super::base64_decode("aGVrYQ=="), b"heka");
    }
}
