//! The test's own plugins around the one under test, native and small:
//!
//! - [`Feeder`]: an input that routes the case's messages to an output under test,
//!   each with its own acknowledgement, so the case knows when the output delivered
//!   (or abandoned) every one ([`Acks`]).
//! - [`Capture`]: an output matching every message, keeping what an input under test
//!   routed (bounded by [`MAX_CAPTURED`]).
//! - [`Bytes`]: how the case's bytes reach an input under test — one connection per
//!   run to a TcpInput, appended to a file of a LogstreamerInput's `log_directory`.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use heka_message::Message;
use heka_pipeline::{Ack, AckSink, Input, InputContext, Output, OutputError, PluginError};

/// The most messages a [`Capture`] keeps; later ones are counted, not kept.
pub const MAX_CAPTURED: usize = 100_000;

/// How many of the fed messages were delivered and abandoned so far.
#[derive(Default)]
pub struct Acks {
    delivered: AtomicUsize,
    abandoned: AtomicUsize,
}

impl AckSink for Acks {
    fn completed(&self, _id: u64, delivered: bool) {
        let counter = if delivered {
            &self.delivered
        } else {
            &self.abandoned
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

impl Acks {
    /// (delivered, abandoned).
    pub fn counts(&self) -> (usize, usize) {
        (
            self.delivered.load(Ordering::SeqCst),
            self.abandoned.load(Ordering::SeqCst),
        )
    }
}

/// Routes its messages once, each with its own [`Ack`], then waits to be stopped.
pub struct Feeder {
    pub msgs: Vec<Message>,
    pub acks: Arc<Acks>,
    /// Numbers the acks across runs of one case.
    pub first_id: u64,
}

impl Input for Feeder {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        for (i, msg) in std::mem::take(&mut self.msgs).into_iter().enumerate() {
            let ack = Ack::new(self.first_id + i as u64, self.acks.clone());
            ctx.deliver(msg, None, None, Some(ack))?;
        }
        while !ctx.stop.wait_timeout(Duration::from_millis(50)) {}
        Ok(())
    }
}

/// What a [`Capture`] kept.
#[derive(Default)]
pub struct Captured {
    pub messages: Vec<Message>,
    pub dropped: usize,
}

/// Keeps every message it is sent.
pub struct Capture(pub Arc<Mutex<Captured>>);

impl Output for Capture {
    fn send(&mut self, msg: &Message, _payload: &[u8]) -> Result<(), OutputError> {
        let mut got = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if got.messages.len() < MAX_CAPTURED {
            got.messages.push(msg.clone());
        } else {
            got.dropped += 1;
        }
        Ok(())
    }
}

/// Where an input under test reads the case's bytes from.
pub enum Bytes {
    /// A TcpInput listening here.
    Tcp(String),
    /// A LogstreamerInput's file.
    File(PathBuf),
}

/// How long a connection to a starting TcpInput is retried.
const CONNECT_FOR: Duration = Duration::from_secs(10);

impl Bytes {
    /// Hands one run's `chunks` to the input, in order.
    pub fn feed(&self, chunks: &[Vec<u8>]) -> Result<(), String> {
        match self {
            Bytes::Tcp(addr) => {
                let started = Instant::now();
                let mut conn = loop {
                    match TcpStream::connect(addr.as_str()) {
                        Ok(c) => break c,
                        Err(e) if started.elapsed() > CONNECT_FOR => {
                            return Err(format!("cannot connect to the TcpInput at {addr}: {e}"));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                for chunk in chunks {
                    conn.write_all(chunk)
                        .map_err(|e| format!("writing to the TcpInput at {addr}: {e}"))?;
                }
                // Closed: the input sees the end of the stream.
                let _ = conn.shutdown(std::net::Shutdown::Write);
                Ok(())
            }
            Bytes::File(path) => {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                for chunk in chunks {
                    file.write_all(chunk)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
                Ok(())
            }
        }
    }
}
