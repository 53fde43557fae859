//! The ops-listener load of `run --scrape`: what Prometheus and an open dashboard do
//! to a hekad (`GET /metrics` and `/api/v1/status` once a second), so the cost of the
//! statistics can be measured against the same run with the listener off
//! (`--baseline <same binary> --baseline-set 'ops_address=""'`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Polls `address` every second until `stop` is set; returns the answers with 200.
pub fn scraper(address: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut answered = 0;
        while !stop.load(Ordering::Relaxed) {
            for path in ["/metrics", "/api/v1/status"] {
                if let Ok(mut s) = std::net::TcpStream::connect(&address) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
                    let mut body = Vec::new();
                    if s.read_to_end(&mut body).is_ok() && body.get(8..13) == Some(b" 200 ") {
                        answered += 1;
                    }
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        answered
    })
}
