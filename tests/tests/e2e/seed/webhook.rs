//! A stand-in for Slack's incoming webhook: a real HTTP server (tiny_http) on
//! 127.0.0.1:0 that records every request it gets and answers from a script
//! ("500 for the first three requests, then 200"), so a test can tell what the
//! server finally accepted from what it turned away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the server answers one request.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    /// The `Retry-After` header's value, if any.
    pub retry_after: Option<&'static str>,
}

impl Reply {
    pub const OK: Reply = Reply {
        status: 200,
        retry_after: None,
    };
}

/// One request as the server saw it, with what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// The body as text, for messages and JSON (invalid UTF-8 shown as U+FFFD).
    pub body: String,
    /// The body's bytes exactly as they arrived.
    pub raw: Vec<u8>,
    pub status: u16,
    /// When the request arrived (for the Retry-After lower bound).
    pub at: Instant,
}

impl Received {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The running server; stopped when dropped.
pub struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Webhook {
    /// Starts a server answering request number `n` (0-based) with `script(n)`.
    pub fn start(script: impl Fn(usize) -> Reply + Send + 'static) -> Webhook {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = server
            .server_addr()
            .to_ip()
            .expect("an IP listener has an IP address");
        // A path shaped like Slack's, so the output's URL handling sees a real one.
        let url = format!("http://{addr}/services/T0000/B0000/e2e-secret-token");
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let received = received.clone();
            let stop = stop.clone();
            std::thread::spawn(move || serve(&server, &script, &received, &stop))
        };
        Webhook {
            url,
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The bodies the server accepted (2xx), in arrival order.
    pub fn accepted(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(Received::accepted)
            .map(|r| r.body)
            .collect()
    }

    /// A one-line-per-request summary for failure messages.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.received().iter().enumerate() {
            out.push_str(&format!(
                "  #{i} {} -> {}: {}\n",
                r.method, r.status, r.body
            ));
        }
        if out.is_empty() {
            out.push_str("  (no request)\n");
        }
        out
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    server: &tiny_http::Server,
    script: &dyn Fn(usize) -> Reply,
    received: &Mutex<Vec<Received>>,
    stop: &AtomicBool,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        // A short timeout so that dropping the Webhook stops the thread promptly.
        let mut request = match server.recv_timeout(Duration::from_millis(50)) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(_) => break,
        };
        let at = Instant::now();
        let mut raw = Vec::new();
        let _ = request.as_reader().read_to_end(&mut raw);
        let body = String::from_utf8_lossy(&raw).into_owned();
        let reply = script(n);
        n += 1;
        // Recorded before answering: once the client sees the answer, the test may look.
        received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Received {
                method: request.method().to_string(),
                body,
                raw,
                status: reply.status,
                at,
            });
        let mut response = tiny_http::Response::from_string(if reply.status < 300 {
            "ok"
        } else {
            "try again"
        })
        .with_status_code(reply.status);
        if let Some(after) = reply.retry_after {
            let header = tiny_http::Header::from_bytes("Retry-After", after)
                .expect("a valid header from the test");
            response.add_header(header);
        }
        let _ = request.respond(response);
    }
}
