//! Receivers that count the log lines arriving from hekad, with the time of the
//! first and of the last one: an HTTP server taking Slack-style JSON bodies (the
//! seed's webhook) and a pipe reader for hekad's stdout (the null receiver).
//!
//! A line is counted by the one `\n` it ends with, which arrives escaped (`\n`, two
//! bytes) inside a JSON body and raw on the pipe; the generated lines contain no
//! backslash of their own, so counting is a `memmem`/`memchr` scan with no parsing.
//! The HTTP server answers from several threads so that it is not the bottleneck: its
//! per-request work is reading the body into a reused buffer and one scan.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Lines received so far and when, shared by a receiver's threads.
#[derive(Debug, Default)]
pub struct Tally {
    lines: AtomicU64,
    bodies: AtomicU64,
    bytes: AtomicU64,
    times: Mutex<Times>,
    changed: Condvar,
}

#[derive(Debug, Default, Clone, Copy)]
struct Times {
    first: Option<Instant>,
    last: Option<Instant>,
}

/// What a receiver saw.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub lines: u64,
    pub bodies: u64,
    pub bytes: u64,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
}

impl Tally {
    /// Counts `lines` lines that arrived in one body of `bytes` bytes, now.
    pub fn add(&self, lines: u64, bytes: u64) {
        let now = Instant::now();
        self.bodies.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if lines == 0 {
            return;
        }
        let mut t = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        t.first.get_or_insert(now);
        t.last = Some(now);
        self.lines.fetch_add(lines, Ordering::Relaxed);
        drop(t);
        self.changed.notify_all();
    }

    /// A snapshot.
    pub fn seen(&self) -> Seen {
        let t = *self.times.lock().unwrap_or_else(PoisonError::into_inner);
        Seen {
            lines: self.lines.load(Ordering::Relaxed),
            bodies: self.bodies.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            first: t.first,
            last: t.last,
        }
    }

    /// Waits until `lines` lines have arrived or nothing arrived for `idle`; returns
    /// what was seen then.
    pub fn wait_for(&self, lines: u64, idle: Duration) -> Seen {
        let mut t = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        let mut last_count = self.lines.load(Ordering::Relaxed);
        let mut last_change = Instant::now();
        loop {
            let count = self.lines.load(Ordering::Relaxed);
            if count >= lines {
                break;
            }
            if count != last_count {
                last_count = count;
                last_change = Instant::now();
            }
            if last_change.elapsed() >= idle {
                break;
            }
            t = self
                .changed
                .wait_timeout(t, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(t);
        self.seen()
    }
}

/// Lines in a Slack JSON body: escaped newlines.
pub fn count_json_lines(body: &[u8]) -> u64 {
    memchr::memmem::find_iter(body, b"\\n").count() as u64
}

/// Lines in raw text.
pub fn count_raw_lines(data: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', data).count() as u64
}

/// The HTTP receiver: every request's body is counted and answered `200 ok`.
pub struct HttpReceiver {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    tally: Arc<Tally>,
    threads: Vec<JoinHandle<()>>,
}

impl HttpReceiver {
    /// Listens on 127.0.0.1 (a free port) with `threads` threads.
    pub fn start(threads: usize) -> std::io::Result<HttpReceiver> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the receiver has no IP address"))?;
        let server = Arc::new(server);
        let tally = Arc::new(Tally::default());
        let threads = (0..threads.max(1))
            .map(|_| {
                let server = server.clone();
                let tally = tally.clone();
                std::thread::spawn(move || serve(&server, &tally))
            })
            .collect();
        Ok(HttpReceiver {
            server,
            addr,
            tally,
            threads,
        })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The counts.
    pub fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.server.unblock();
        for _ in 1..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn serve(server: &tiny_http::Server, tally: &Tally) {
    let mut body = Vec::with_capacity(64 * 1024);
    while let Ok(mut request) = server.recv() {
        body.clear();
        let ok = request.as_reader().read_to_end(&mut body).is_ok();
        if ok {
            tally.add(count_json_lines(&body), body.len() as u64);
        }
        let status = if ok { 200 } else { 400 };
        let _ = request.respond(tiny_http::Response::from_string("ok").with_status_code(status));
    }
}

/// Counts the lines of `reader` (hekad's stdout) on a thread until it closes.
pub fn count_pipe(mut reader: impl Read + Send + 'static) -> (Arc<Tally>, JoinHandle<()>) {
    let tally = Arc::new(Tally::default());
    let t = tally.clone();
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => t.add(count_raw_lines(&buf[..n]), n as u64),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    (tally, handle)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn counts_escaped_newlines_of_posted_bodies() {
        let rx = HttpReceiver::start(2).unwrap();
        let body = br##"{"icon_emoji":":x:","username":"u","text":"a b\nc d\n","channel":"#c"}"##;
        for _ in 0..3 {
            let mut s = TcpStream::connect(rx.addr).unwrap();
            write!(
                s,
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            s.write_all(body).unwrap();
            let mut answer = String::new();
            s.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        let seen = rx.tally().wait_for(6, Duration::from_secs(5));
        assert_eq!(seen.lines, 6);
        assert_eq!(seen.bodies, 3);
        assert!(seen.first.unwrap() <= seen.last.unwrap());
    }

    #[test]
    fn counts_raw_lines_of_a_pipe() {
        let (tally, handle) = count_pipe(&b"one\ntwo\nthree\n"[..]);
        handle.join().unwrap();
        assert_eq!(tally.seen().lines, 3);
    }
}
