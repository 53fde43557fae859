//! [`TcpOutput`] at run time: the connection, the window of bytes sent but not yet
//! known to be delivered, reconnecting, and waiting for acknowledgements.
//!
//! Everything sent goes into `window` first and stays there until it is known to be
//! delivered: acknowledged by the receiver (`delivery_acks`), or written and flushed
//! to the socket (Heka's rule, without acks). A connection that fails loses nothing:
//! the next connection starts by sending the window again from its start, so a send
//! whose write failed still reports success (its bytes are in the window and go out
//! on the next connection; the runner releases its acks only after a successful
//! [`Output::flush`]). Reconnect back-off is the runner's: a connect that fails is an
//! [`OutputError::Retry`], retried with `[x.retries]`'s exponential back-off.
//!
//! Memory: the window holds at most `max_unacked` bytes plus one message; a send that
//! would go beyond waits for acknowledgements (flushes) first.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heka_message::{Message, SigningKey, Unframed, unframe};
use heka_pipeline::{Output, OutputError};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::config::{Settings, resolve};
use crate::plugins::net::{AckReader, Stream, set_keep_alive};

/// Unwritten bytes after which a send writes them out (a syscall per this much).
const WRITE_CHUNK: usize = 64 * 1024;
/// Longest wait for a connection to be established.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the end-of-session message (TLS `close_notify`) to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(100);
/// Longest single blocking read while waiting for acknowledgements.
const ACK_POLL: Duration = Duration::from_millis(500);

/// Sends framed messages to a TcpInput. Built by [`super::build`].
pub struct TcpOutput {
    name: String,
    settings: Settings,
    conn: Option<Conn>,
    /// Bytes sent (or to be sent) and not yet known to be delivered, oldest first.
    pub(super) window: Vec<u8>,
    /// How many bytes at the front of `window` the current connection was given.
    written: usize,
    /// Messages sent since the connection was made (`reconnect_after`).
    since_connect: u64,
}

/// One connection.
struct Conn {
    stream: Box<dyn Stream>,
    /// The same socket, for timeouts and shutdown.
    socket: TcpStream,
    acks: AckReader,
    /// The stream offset of `window[0]` on this connection (what was acknowledged).
    base: u64,
}

impl TcpOutput {
    pub(super) fn new(name: &str, settings: Settings) -> TcpOutput {
        TcpOutput {
            name: name.to_owned(),
            settings,
            conn: None,
            window: Vec::new(),
            written: 0,
            since_connect: 0,
        }
    }

    /// Connects and sends the window again from its start.
    fn connect(&mut self) -> Result<(), OutputError> {
        let address = resolve(&self.settings.address).map_err(retry)?;
        let socket = open_socket(&self.settings, address)
            .map_err(|e| retry(format!("cannot connect to {address}: {e}")))?;
        let plain = socket
            .try_clone()
            .map_err(|e| retry(format!("socket: {e}")))?;
        let stream: Box<dyn Stream> = match &self.settings.tls {
            None => Box::new(plain),
            Some((config, name)) => Box::new(
                tls_handshake(config, name, plain)
                    .map_err(|e| retry(format!("TLS handshake with {address}: {e}")))?,
            ),
        };
        tracing::info!(output = %self.name, %address, resending = self.window.len(), "connected");
        self.conn = Some(Conn {
            stream,
            socket,
            acks: AckReader::default(),
            base: 0,
        });
        self.written = 0;
        self.since_connect = 0;
        Ok(())
    }

    fn disconnect(&mut self, why: &str) {
        if let Some(mut conn) = self.conn.take() {
            // A short farewell: the peer may be gone with its buffers full.
            let _ = conn.socket.set_write_timeout(Some(CLOSE_TIMEOUT));
            conn.stream.close();
            let _ = conn.socket.shutdown(Shutdown::Both);
            tracing::info!(output = %self.name, reason = why, unacknowledged = self.window.len(), "disconnected");
        }
        self.written = 0;
    }

    /// Writes the part of the window the connection has not had yet. On an error
    /// the connection is dropped (the window stays for the next one).
    fn write_out(&mut self) -> Result<(), OutputError> {
        let Some(conn) = &mut self.conn else {
            return Err(retry("not connected"));
        };
        let result = conn
            .stream
            .write_all(&self.window[self.written..])
            .and_then(|()| conn.stream.flush());
        match result {
            Ok(()) => {
                self.written = self.window.len();
                Ok(())
            }
            Err(e) => {
                let reason = format!("write failed: {e}");
                self.disconnect(&reason);
                Err(retry(reason))
            }
        }
    }

    /// Makes sure the whole window is delivered: written and flushed, and with
    /// `delivery_acks` acknowledged; then forgets it.
    fn deliver_window(&mut self) -> Result<(), OutputError> {
        if self.conn.is_none() {
            if self.window.is_empty() {
                return Ok(());
            }
            self.connect()?;
        }
        self.write_out()?;
        if !self.settings.delivery_acks {
            self.window.clear();
            self.written = 0;
            return Ok(());
        }
        let deadline = Instant::now() + self.settings.ack_timeout;
        while !self.window.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(retry(format!(
                    "{} bytes not acknowledged within {:?}",
                    self.window.len(),
                    self.settings.ack_timeout
                )));
            }
            self.read_acks(left.min(ACK_POLL))?;
        }
        Ok(())
    }

    /// Waits up to `wait` for acknowledgements and forgets what they cover.
    fn read_acks(&mut self, wait: Duration) -> Result<(), OutputError> {
        let Some(conn) = &mut self.conn else {
            return Err(retry("not connected"));
        };
        let read = conn
            .socket
            .set_read_timeout(Some(wait))
            .and_then(|()| conn.acks.read(conn.stream.as_mut()));
        let acked = match read {
            Ok(None) => return Ok(()),
            Ok(Some(acked)) => acked,
            Err(e) => {
                let reason = format!("waiting for acknowledgements: {e}");
                self.disconnect(&reason);
                return Err(retry(reason));
            }
        };
        let covered = acked
            .checked_sub(conn.base)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= self.written);
        let Some(covered) = covered else {
            let reason = format!(
                "the receiver acknowledged offset {acked}, outside what was sent ({}..={})",
                conn.base,
                conn.base + self.written as u64
            );
            self.disconnect(&reason);
            return Err(retry(reason));
        };
        conn.base = acked;
        self.window.drain(..covered);
        self.written -= covered;
        Ok(())
    }
}

impl Drop for TcpOutput {
    fn drop(&mut self) {
        self.disconnect("stopping");
    }
}

impl Output for TcpOutput {
    fn send(&mut self, _msg: &Message, payload: &[u8]) -> Result<(), OutputError> {
        if self.window.len() + payload.len() > self.settings.max_unacked {
            self.deliver_window()?;
        }
        if self.conn.is_none() {
            self.connect()?;
        }
        match &self.settings.signer {
            None => self.window.extend_from_slice(payload),
            Some(key) => sign_into(key, payload, &mut self.window)?,
        }
        self.since_connect += 1;
        if self.window.len() - self.written >= WRITE_CHUNK {
            // A failed write drops the connection; the bytes stay in the window and
            // go out again on the next one, so the message counts as sent.
            let _ = self.write_out();
        }
        if self.settings.reconnect_after > 0
            && self.since_connect >= self.settings.reconnect_after
            && self.deliver_window().is_ok()
        {
            self.disconnect("reconnect_after");
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        self.deliver_window()
    }
}

/// Appends `record` (one framed record, as the runner frames ProtobufEncoder's
/// output) to `out`, signed with `key`.
fn sign_into(key: &SigningKey, record: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
    let not_framed = || {
        OutputError::Drop(
            "[signer] signs framed records, and this output's encoder output is not one \
             (use ProtobufEncoder with use_framing = true)"
                .to_owned(),
        )
    };
    match unframe(record, usize::MAX) {
        Unframed::Message {
            message, consumed, ..
        } if consumed == record.len() => key
            .frame(message, usize::MAX, out)
            .map_err(|e| OutputError::Drop(format!("cannot sign: {e}"))),
        _ => Err(not_framed()),
    }
}

/// A connected socket with the configured options.
fn open_socket(settings: &Settings, address: std::net::SocketAddr) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if let Some(local) = settings.local_address {
        socket.bind(&local.into())?;
    }
    socket.connect_timeout(&address.into(), CONNECT_TIMEOUT)?;
    let stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    // A receiver that stops reading must not block the output forever.
    stream.set_write_timeout(Some(settings.ack_timeout))?;
    if let Some(period) = settings.keep_alive {
        set_keep_alive(&stream, period)?;
    }
    Ok(stream)
}

/// The client side of a TLS session on `socket`, handshake done (bounded by the
/// socket's timeouts, set to `CONNECT_TIMEOUT` for it).
fn tls_handshake(
    config: &Arc<ClientConfig>,
    name: &ServerName<'static>,
    socket: TcpStream,
) -> io::Result<rustls::StreamOwned<ClientConnection, TcpStream>> {
    let conn = ClientConnection::new(config.clone(), name.clone()).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, socket);
    tls.sock.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

fn retry(reason: impl Into<String>) -> OutputError {
    OutputError::Retry {
        reason: reason.into(),
        after: None,
    }
}
