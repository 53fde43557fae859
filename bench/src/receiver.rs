//! Receivers that count the log lines arriving from hekad, with the time of the
//! first and of the last one: an HTTP server taking Slack-style JSON bodies (the
//! seed's webhook) and a pipe reader for hekad's stdout (the null receiver).
//!
//! A line is counted by the one `\n` it ends with, which arrives escaped (`\n`, two
//! bytes) inside a JSON body and raw on the pipe; the generated lines contain no
//! backslash of their own, so counting is a `memmem`/`memchr` scan with no parsing.
//! The HTTP server's per-request work is a read or two into a reused buffer and one
//! scan, so that it is not what the benchmark measures.

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
///
/// A hand-written HTTP/1.1 keep-alive loop, one thread per connection, rather than a
/// server crate: it is a measuring instrument sharing two cores with what it measures,
/// so its cost per request must be two syscalls and a scan. (tiny_http, used first,
/// spent ~3 CPU-s per GB of log received, a third of hekad's own.) It understands what
/// HttpOutput sends (a request line, headers, `Content-Length`), and answers 400 and
/// closes on anything else.
pub struct HttpReceiver {
    addr: SocketAddr,
    tally: Arc<Tally>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpReceiver {
    /// Listens on 127.0.0.1 (a free port). `_threads` is kept for the CLI: there is
    /// one thread per connection.
    pub fn start(_threads: usize) -> std::io::Result<HttpReceiver> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (t, st) = (tally.clone(), stop.clone());
        let acceptor = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let t = t.clone();
                std::thread::spawn(move || serve(conn, &t));
            }
        });
        Ok(HttpReceiver {
            addr,
            tally,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
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
        self.stop.store(true, Ordering::Relaxed);
        // Wake the acceptor with a connection of our own.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Serves one connection until it closes or sends something unexpected.
fn serve(mut conn: std::net::TcpStream, tally: &Tally) {
    use std::io::Write;
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 256 * 1024];
    let (mut start, mut end) = (0, 0);
    loop {
        // The head: up to the blank line.
        let head_end = loop {
            if let Some(i) = memchr::memmem::find(&buf[start..end], b"\r\n\r\n") {
                break start + i + 4;
            }
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            if end == buf.len() {
                let _ = conn.write_all(BAD);
                return;
            }
            match conn.read(&mut buf[end..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => end += n,
            }
        };
        let Some((len, close)) = content_length(&buf[start..head_end]) else {
            let _ = conn.write_all(BAD);
            return;
        };
        start = head_end;
        // The body: counted as it arrives, so it need not fit the buffer.
        let mut left = len;
        let mut lines = 0;
        let mut carry = false; // the previous piece ended in a backslash
        while left > 0 {
            if start == end {
                start = 0;
                end = match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
            }
            let take = left.min(end - start);
            let piece = &buf[start..start + take];
            if carry && piece.first() == Some(&b'n') {
                lines += 1;
            }
            lines += count_json_lines(piece);
            carry = piece.last() == Some(&b'\\');
            start += take;
            left -= take;
        }
        tally.add(lines, len as u64);
        if conn.write_all(OK).is_err() || close {
            return;
        }
    }
}

/// The `Content-Length` of a request head (0 when absent), and whether it asks for
/// `Connection: close`.
fn content_length(head: &[u8]) -> Option<(usize, bool)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let request = lines.next()?;
    if !request.ends_with("HTTP/1.1") && !request.ends_with("HTTP/1.0") {
        return None;
    }
    let (mut len, mut close) = (0, false);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                len = value.trim().parse().ok()?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.trim().eq_ignore_ascii_case("close");
            }
        }
    }
    Some((len, close))
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
