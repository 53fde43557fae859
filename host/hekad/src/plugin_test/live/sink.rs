//! Capture sinks: where an output under `hekad test` delivers instead of its real
//! destination. The output's section is rewritten before it is built, so the plugin
//! that runs is the daemon's own, with its own client, framing, retries and acks;
//! only the far end is ours:
//!
//! - `HttpOutput`: an HTTP/1.1 server on 127.0.0.1 (axum, as the ops listener), which
//!   keeps each request (method, path, headers, body) and answers the case's
//!   `respond` statuses in order, then 200. The address keeps its path and query;
//!   `https` becomes `http` (the `[x.tls]` table is dropped).
//! - `TcpOutput`: a TCP listener on 127.0.0.1 keeping every byte of every connection
//!   in order (reconnects included); `use_tls` is turned off.
//! - `FileOutput`: `path` moved into the case's temporary directory (same file name).
//! - `LogOutput`: its stdout replaced by a buffer (see [`LogBuffer`]).
//!
//! What a sink keeps is bounded by [`MAX_CAPTURE_BYTES`]: past it, bytes are counted
//! and dropped, and the case fails saying so.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Section;

/// The most bytes a sink keeps for one case (bodies and streams together).
pub const MAX_CAPTURE_BYTES: usize = 64 << 20;

/// One request an HttpOutput made.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a sink received, in order, and what it had to drop.
#[derive(Debug, Default)]
pub struct Captured {
    pub requests: Vec<Request>,
    pub bytes: Vec<u8>,
    pub dropped_bytes: usize,
    /// Bytes kept so far (bodies and stream), against [`MAX_CAPTURE_BYTES`].
    kept: usize,
}

impl Captured {
    /// Whether `len` more bytes may be kept (counted as kept when they may).
    fn room(&mut self, len: usize) -> bool {
        if self.kept + len > MAX_CAPTURE_BYTES {
            self.dropped_bytes += len;
            return false;
        }
        self.kept += len;
        true
    }
}

type Shared = Arc<Mutex<Captured>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Captured> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A LogOutput's stdout in a test: what it writes is kept.
#[derive(Clone)]
pub struct LogBuffer(Shared);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut c = lock(&self.0);
        if c.room(buf.len()) {
            c.bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Far {
    Http {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    Tcp {
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    File(PathBuf),
    Log,
}

/// The far end of the output under test, running until dropped.
pub struct Sink {
    far: Far,
    shared: Shared,
}

impl Sink {
    /// Points `section` (an output) at a new sink; `dir` holds the case's files,
    /// `respond` the statuses an HTTP sink answers first. `Err` says why this output
    /// type cannot be captured.
    pub fn redirect(section: &mut Section, dir: &Path, respond: &[u16]) -> Result<Sink, String> {
        let shared = Shared::default();
        let table = &mut section.table;
        let far = match section.type_name.as_str() {
            "HttpOutput" => {
                let path = table
                    .get("address")
                    .and_then(toml::Value::as_str)
                    .map(path_of)
                    .unwrap_or_else(|| "/".into());
                let (addr, stop, thread) = serve_http(shared.clone(), respond.to_vec())?;
                table.insert("address".into(), format!("http://{addr}{path}").into());
                table.remove("tls");
                Far::Http {
                    stop: Some(stop),
                    thread: Some(thread),
                }
            }
            "TcpOutput" => {
                if table.get("delivery_acks").and_then(toml::Value::as_bool) == Some(true) {
                    return Err(
                        "delivery_acks needs an aggregator's acks, which the test's \
                                TCP sink does not send"
                            .into(),
                    );
                }
                let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                let stop = Arc::new(AtomicBool::new(false));
                let thread = serve_tcp(listener, shared.clone(), stop.clone())?;
                table.insert("address".into(), addr.to_string().into());
                table.insert("use_tls".into(), false.into());
                table.remove("tls");
                Far::Tcp {
                    stop,
                    thread: Some(thread),
                }
            }
            "FileOutput" => {
                let name = table
                    .get("path")
                    .and_then(toml::Value::as_str)
                    .and_then(|p| Path::new(p).file_name().map(|n| n.to_os_string()))
                    .unwrap_or_else(|| "output.log".into());
                let file = dir.join(name);
                table.insert("path".into(), file.display().to_string().into());
                Far::File(file)
            }
            "LogOutput" => Far::Log,
            other => {
                return Err(format!(
                    "hekad test has no capture sink for {other} (HttpOutput, TcpOutput, \
                     FileOutput and LogOutput have one); test its encoder instead"
                ));
            }
        };
        Ok(Sink { far, shared })
    }

    /// The stdout a LogOutput under test writes to (`None` for other outputs).
    pub fn log_buffer(&self) -> Option<LogBuffer> {
        matches!(self.far, Far::Log).then(|| LogBuffer(self.shared.clone()))
    }

    /// Stops the far end and hands over what it received.
    pub fn finish(mut self) -> Result<Captured, String> {
        match &mut self.far {
            Far::Http { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
            Far::Tcp { stop, thread } => {
                stop.store(true, Ordering::Relaxed);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
            Far::File(path) => {
                let bytes = match std::fs::read(&*path) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
                };
                let mut c = lock(&self.shared);
                if c.room(bytes.len()) {
                    c.bytes = bytes;
                }
            }
            Far::Log => {}
        }
        Ok(std::mem::take(&mut *lock(&self.shared)))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        match &mut self.far {
            Far::Http { stop, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
            Far::Tcp { stop, .. } => stop.store(true, Ordering::Relaxed),
            Far::File(_) | Far::Log => {}
        }
    }
}

/// The path and query of an URL (`/` when it has none).
fn path_of(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".into(),
    }
}

type HttpServer = (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
);

/// An HTTP server on its own thread and current-thread runtime.
fn serve_http(shared: Shared, respond: Vec<u16>) -> Result<HttpServer, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let state = Arc::new((shared, Mutex::new(respond.into_iter())));
    let thread = std::thread::Builder::new()
        .name("test-http-sink".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = axum::Router::new()
                    .fallback(move |req| record(state.clone(), req))
                    .layer(axum::extract::DefaultBodyLimit::max(MAX_CAPTURE_BYTES));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        })
        .map_err(|e| e.to_string())?;
    Ok((addr, stop_tx, thread))
}

type HttpState = Arc<(Shared, Mutex<std::vec::IntoIter<u16>>)>;

/// Keeps one request and answers the next scripted status (200 once they ran out).
async fn record(state: HttpState, req: axum::extract::Request) -> axum::http::StatusCode {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_CAPTURE_BYTES)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let request = Request {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".into(), |p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect(),
        body,
    };
    {
        let mut c = lock(&state.0);
        if c.room(request.body.len()) {
            c.requests.push(request);
        }
    }
    let status = state
        .1
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .next()
        .unwrap_or(200);
    axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK)
}

/// Accepts connections one after the other and keeps their bytes in order.
fn serve_tcp(
    listener: TcpListener,
    shared: Shared,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("test-tcp-sink".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let mut c = lock(&shared);
                            if c.room(n) {
                                c.bytes.extend_from_slice(&buf[..n]);
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) =>
                        {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
            }
        })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn an_address_keeps_its_path_and_query() {
        assert_eq!(
            path_of("https://hooks.slack.com/services/T/B?x=1"),
            "/services/T/B?x=1"
        );
        assert_eq!(path_of("http://127.0.0.1:8080"), "/");
        assert_eq!(path_of("127.0.0.1:8080/p"), "/p");
    }
}
