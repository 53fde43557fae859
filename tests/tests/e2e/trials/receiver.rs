//! The trials' misbehaving webhook: a small HTTP/1.1 server on a fixed 127.0.0.1 port,
//! written on `std::net` rather than tiny_http because the trials need what a library
//! server hides: closing the *listener* (so new connections are refused, the real
//! "connection refused" of a receiver that is down) and the open keep-alive
//! connections with it, then binding the same port again; and answering slowly on
//! purpose.
//!
//! What it answers is the current [`Mode`], which the trial driver changes on its
//! random schedule. Every 2xx answer is recorded with the lines of the Slack JSON
//! body's `text`, the time the request arrived and the time it was answered (a
//! duplicate is only excused by a SIGKILL that could have lost the acknowledgement of
//! its first copy: see `docs/delivery.md`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::rng::Rng;

/// How the receiver behaves right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 200 to everything.
    Ok,
    /// The listener is closed (connect: refused) and open connections are cut.
    Refuse,
    /// 500 to most requests (some get through).
    Error500,
    /// 429 with `Retry-After: 1` to most requests.
    Throttle,
    /// 200, after waiting 1–2 s.
    Slow,
}

/// One accepted (2xx) request.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub arrived: Instant,
    pub answered: Instant,
    /// The log lines in the body's `text`, without their "\n".
    pub lines: Vec<String>,
}

/// Request counts by answer.
#[derive(Debug, Default)]
pub struct Counts {
    pub ok: AtomicU64,
    pub status_500: AtomicU64,
    pub status_429: AtomicU64,
    pub slow: AtomicU64,
    /// Requests cut without an answer (the receiver went down meanwhile).
    pub cut: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
}

struct Shared {
    mode: Mutex<Mode>,
    accepted: Mutex<Vec<Accepted>>,
    /// Bodies that were not the Slack JSON we expect (a test failure).
    bad_bodies: Mutex<Vec<String>>,
    counts: Counts,
    stop: AtomicBool,
    rng: Mutex<Rng>,
}

/// The running receiver; stopped when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Binds 127.0.0.1:0 and serves in [`Mode::Ok`].
    pub fn start(seed: u64) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Ok),
            accepted: Mutex::new(Vec::new()),
            bad_bodies: Mutex::new(Vec::new()),
            counts: Counts::default(),
            stop: AtomicBool::new(false),
            rng: Mutex::new(Rng::new(seed)),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, addr, &shared))
        };
        Receiver {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!(
            "http://{}/services/T0000/B0000/trial-secret-token",
            self.addr
        )
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        lock(&self.shared.accepted).clone()
    }

    pub fn bad_bodies(&self) -> Vec<String> {
        lock(&self.shared.bad_bodies).clone()
    }

    pub fn counts(&self) -> &Counts {
        &self.shared.counts
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn mode(shared: &Shared) -> Mode {
    *lock(&shared.mode)
}

/// Accepts connections while the mode is not `Refuse`; closes the listener (and
/// binds the same port again later) when it is.
fn accept_loop(listener: TcpListener, addr: SocketAddr, shared: &Arc<Shared>) {
    let mut listener = Some(listener);
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let refuse = mode(shared) == Mode::Refuse;
        if refuse {
            listener = None;
        } else if listener.is_none() {
            // std sets SO_REUSEADDR: the port comes back at once.
            listener = TcpListener::bind(addr).ok();
        }
        if let Some(l) = &listener {
            l.set_nonblocking(true).expect("nonblocking listener");
            match l.accept() {
                Ok((stream, _)) => {
                    shared.counts.connections.fetch_add(1, Ordering::Relaxed);
                    let shared = shared.clone();
                    conns.push(std::thread::spawn(move || serve(stream, &shared)));
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => {}
            }
        }
        conns.retain(|c| !c.is_finished());
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(listener);
    for c in conns {
        let _ = c.join();
    }
}

/// Serves one keep-alive connection until the peer closes it, the receiver goes
/// down (`Refuse`) or stops.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let Some(body) = read_request(&mut reader, shared) else {
            return;
        };
        let arrived = Instant::now();
        let reply_mode = mode(shared);
        let roll = lock(&shared.rng).below(100);
        let (status, extra) = match reply_mode {
            Mode::Refuse => {
                shared.counts.cut.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Mode::Error500 if roll < 80 => (500, ""),
            Mode::Throttle if roll < 80 => (429, "Retry-After: 1\r\n"),
            Mode::Slow => {
                let ms = 1000 + lock(&shared.rng).below(1000);
                std::thread::sleep(Duration::from_millis(ms));
                (200, "")
            }
            _ => (200, ""),
        };
        let counter = match (status, reply_mode) {
            (500, _) => &shared.counts.status_500,
            (429, _) => &shared.counts.status_429,
            (_, Mode::Slow) => &shared.counts.slow,
            _ => &shared.counts.ok,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if status == 200 {
            // Recorded before answering: once the answer is written, hekad may ack.
            match slack_lines(&body) {
                Some(lines) => lock(&shared.accepted).push(Accepted {
                    arrived,
                    answered: Instant::now(),
                    lines,
                }),
                None => lock(&shared.bad_bodies).push(body),
            }
        }
        let text = if status == 200 { "ok" } else { "try again" };
        let response = format!(
            "HTTP/1.1 {status} {}\r\n{extra}Content-Length: {}\r\n\r\n{text}",
            if status == 200 { "OK" } else { "Not OK" },
            text.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads one request and returns its body; `None` when the connection is over (peer
/// closed, receiver down or stopping, malformed request).
fn read_request(reader: &mut BufReader<TcpStream>, shared: &Shared) -> Option<String> {
    let mut head = Vec::new();
    // Headers, line by line, watching for the receiver going down between requests.
    loop {
        if shared.stop.load(Ordering::Relaxed) || mode(shared) == Mode::Refuse {
            return None;
        }
        let mut line = Vec::new();
        match read_line(reader, &mut line, shared) {
            Some(0) => return None,
            Some(_) => {}
            None => return None,
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        head.extend_from_slice(&line);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut length = 0usize;
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
            if name.trim().eq_ignore_ascii_case("transfer-encoding") {
                // HttpOutput sends a byte slice: always a Content-Length.
                lock(&shared.bad_bodies).push(format!("chunked request: {head}"));
                return None;
            }
        }
    }
    let mut body = vec![0; length];
    let mut read = 0;
    while read < length {
        match reader.read(&mut body[read..]) {
            Ok(0) => return None,
            Ok(n) => read += n,
            Err(e) if is_timeout(&e) => {
                if shared.stop.load(Ordering::Relaxed) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&body).into_owned())
}

/// One header line (with its line end), retrying read timeouts. `Some(0)` = EOF.
fn read_line(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
    shared: &Shared,
) -> Option<usize> {
    loop {
        match reader.read_until(b'\n', line) {
            Ok(0) if line.is_empty() => return Some(0),
            Ok(_) if line.ends_with(b"\n") => return Some(line.len()),
            Ok(0) => return Some(0),
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {
                // Between requests the receiver may go down: cut the connection then.
                if shared.stop.load(Ordering::Relaxed)
                    || (line.is_empty() && mode(shared) == Mode::Refuse)
                {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// The lines of a Slack JSON body's `text` (each record ends in "\n"), or `None` if
/// the body is not such an object.
fn slack_lines(body: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = v.get("text")?.as_str()?;
    if !text.ends_with('\n') {
        return None;
    }
    Some(text.lines().map(str::to_owned).collect())
}
