//! `TcpInput`: accepts TCP connections and reads a record stream from each (Heka's
//! TcpInput). Defaults: `splitter = "HekaFramingSplitter"`, `decoder =
//! "ProtobufDecoder"`, i.e. framed protobuf as sent by Heka's TcpOutput or heka-inject.
//!
//! ```toml
//! [TcpInput]
//! address = "127.0.0.1:5565"
//! ```
//!
//! Each connection gets its own thread, splitter and decoder (Heka's templates), and
//! its messages carry `Hostname` = the peer's address. The listener is bound when the
//! input runs, not when the config is built, so `hekad validate` never takes the port.
//! The accept loop and the readers wake every `POLL` to notice `ctx.stop`.
//!
//! With `use_tls = true` each connection is a TLS server session over rustls
//! (`[x.tls]`: see `crate::plugins::tls`); the handshake runs on the connection's
//! thread, bounded by `HANDSHAKE_TIMEOUT`, so a slow or hostile client never holds
//! up the others.
//!
//! With `delivery_acks = true` (a hekad-rs extension for hekad-rs's TcpOutput) each
//! connection writes back how much of its stream the outputs have delivered
//! (`crate::plugins::net`, `super::tcp_acks`); while acknowledgements are owed, reads
//! wake every `ACK_POLL` to send them.

use std::io::{ErrorKind as IoErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heka_pipeline::{AckUnits, Input, InputContext, PluginError, RecordHeaders};
use serde::Deserialize;

use super::tcp_acks::ConnAcks;
use crate::config::ConfigError;
use crate::plugins::BuildContext;
use crate::plugins::net::{Stream, is_timeout, set_keep_alive};
use crate::plugins::tls::TlsConfig;

/// How often blocked accepts and reads look at the stop signal.
const POLL: Duration = Duration::from_millis(100);
/// How often a connection that owes acknowledgements looks whether they are due.
const ACK_POLL: Duration = Duration::from_millis(5);
/// How long a stopping connection waits for its last acknowledgements.
const ACK_DRAIN: Duration = Duration::from_secs(5);
/// Longest TLS handshake a connection is given.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `[x]` keys of a TcpInput.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
// `use_tls`, `tls`, `keep_alive` and `keep_alive_period` repeat TcpOutputConfig's on
// purpose: a shared struct would need `#[serde(flatten)]`, which serde cannot combine
// with `deny_unknown_fields` (the unknown-key errors users get).
pub struct TcpInputConfig {
    /// `host:port` to listen on.
    pub address: String,
    /// `tcp`, `tcp4` or `tcp6` (Heka's `unix` forms are not supported).
    #[serde(default = "default_net")]
    pub net: String,
    /// Accept TLS connections only, set up by `[x.tls]` (Heka's switch).
    #[serde(default)]
    pub use_tls: bool,
    /// `[x.tls]`: certificate, key, client authentication (used with `use_tls`).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Enable TCP keep-alive on accepted connections.
    #[serde(default)]
    pub keep_alive: bool,
    /// Keep-alive idle time and probe interval, seconds.
    #[serde(default = "crate::plugins::net::default_keep_alive_period")]
    pub keep_alive_period: u64,
    /// Write delivery acknowledgements back to the sender (hekad-rs's TcpOutput with
    /// `delivery_acks = true`; Heka's TcpOutput never reads them).
    #[serde(default)]
    pub delivery_acks: bool,
}

fn default_net() -> String {
    "tcp".into()
}

/// The runtime input.
#[derive(Debug)]
pub struct TcpInput {
    address: SocketAddr,
    options: ConnOptions,
}

impl TcpInput {
    /// Checks the config: the address must resolve to one of the `net`'s family.
    pub fn new(cfg: &TcpInputConfig) -> Result<TcpInput, (&'static str, String)> {
        let tls = match (&cfg.tls, cfg.use_tls) {
            (tls, true) => Some(
                tls.clone()
                    .unwrap_or_default()
                    .server()
                    .map_err(|e| (e.key, e.message))?,
            ),
            (Some(_), false) => {
                return Err(("use_tls", "[tls] is given but use_tls is false (Heka would ignore it and accept plain TCP)".into()));
            }
            (None, false) => None,
        };
        let want_v4 = match cfg.net.as_str() {
            "tcp" => None,
            "tcp4" => Some(true),
            "tcp6" => Some(false),
            other => {
                return Err((
                    "net",
                    format!("unsupported net {other:?} (expected tcp, tcp4 or tcp6)"),
                ));
            }
        };
        let addrs = cfg
            .address
            .to_socket_addrs()
            .map_err(|e| ("address", format!("cannot resolve {:?}: {e}", cfg.address)))?;
        let address = addrs
            .into_iter()
            .find(|a| want_v4.is_none_or(|v4| a.is_ipv4() == v4))
            .ok_or((
                "address",
                format!("{:?} has no {} address", cfg.address, cfg.net),
            ))?;
        if cfg.keep_alive && cfg.keep_alive_period == 0 {
            return Err(("keep_alive_period", "must be at least 1 second".into()));
        }
        Ok(TcpInput {
            address,
            options: ConnOptions {
                keep_alive: cfg
                    .keep_alive
                    .then(|| Duration::from_secs(cfg.keep_alive_period)),
                delivery_acks: cfg.delivery_acks,
                tls,
            },
        })
    }
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let cfg: TcpInputConfig = ctx.parse()?;
    let input = TcpInput::new(&cfg).map_err(|(key, msg)| ctx.invalid(Some(key), msg))?;
    Ok(Box::new(input))
}

impl Input for TcpInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        let listener = TcpListener::bind(self.address)
            .map_err(|e| PluginError::Fatal(format!("cannot listen on {}: {e}", self.address)))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| PluginError::Fatal(format!("listener: {e}")))?;
        tracing::info!(input = %ctx.name, address = %self.address, "TcpInput listening");
        let ctx: &InputContext = ctx;
        let options = &self.options;
        std::thread::scope(|scope| {
            let spawn = |stream: TcpStream, peer: SocketAddr| {
                let spawned = std::thread::Builder::new()
                    .name(format!("{}-{peer}", ctx.name))
                    .spawn_scoped(scope, move || serve(ctx, stream, peer, options));
                if let Err(e) = spawned {
                    tracing::error!(input = %ctx.name, %peer, error = %e, "cannot spawn connection thread");
                }
            };
            while !ctx.stop.is_raised() {
                match listener.accept() {
                    Ok((stream, peer)) => spawn(stream, peer),
                    Err(e) if e.kind() == IoErrorKind::WouldBlock => {
                        ctx.stop.wait_timeout(POLL);
                    }
                    Err(e) => {
                        tracing::warn!(input = %ctx.name, error = %e, "accept failed");
                        ctx.stop.wait_timeout(POLL);
                    }
                }
            }
            // Connections already queued by the kernel were accepted by the peer's
            // point of view: drain them too, so nothing sent before the stop is lost.
            while let Ok((stream, peer)) = listener.accept() {
                spawn(stream, peer);
            }
            // Leaving the scope joins the connection threads, which drain and end.
        });
        Ok(())
    }
}

/// What each connection is set up with.
#[derive(Debug)]
struct ConnOptions {
    keep_alive: Option<Duration>,
    delivery_acks: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Sets up one connection (socket options, TLS handshake), then reads it.
fn serve(ctx: &InputContext, socket: TcpStream, peer: SocketAddr, options: &ConnOptions) {
    tracing::debug!(input = %ctx.name, %peer, "connection accepted");
    if let Some(period) = options.keep_alive
        && let Err(e) = set_keep_alive(&socket, period)
    {
        tracing::warn!(input = %ctx.name, %peer, error = %e, "cannot enable keep-alive");
    }
    // Accepted sockets may inherit non-blocking mode; reads use a timeout instead so
    // they wake up to look at the stop signal.
    if let Err(e) = socket
        .set_nonblocking(false)
        .and_then(|()| socket.set_read_timeout(Some(POLL)))
    {
        tracing::warn!(input = %ctx.name, %peer, error = %e, "cannot configure connection");
        return;
    }
    match &options.tls {
        None => read_stream(ctx, &mut &socket, &socket, peer, options),
        Some(config) => match tls_handshake(ctx, config, &socket) {
            Ok(mut tls) => read_stream(ctx, &mut tls, &socket, peer, options),
            Err(e) => {
                tracing::warn!(input = %ctx.name, %peer, error = %e, "TLS handshake failed; connection closed");
            }
        },
    }
}

/// The server side of a TLS session on `socket`, handshake done.
fn tls_handshake<'s>(
    ctx: &InputContext,
    config: &Arc<rustls::ServerConfig>,
    socket: &'s TcpStream,
) -> std::io::Result<rustls::StreamOwned<rustls::ServerConnection, &'s TcpStream>> {
    let conn = rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, socket);
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    while tls.conn.is_handshaking() {
        match tls.conn.complete_io(&mut tls.sock) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == IoErrorKind::Interrupted => {
                if ctx.stop.is_raised() || Instant::now() >= deadline {
                    return Err(std::io::Error::new(
                        IoErrorKind::TimedOut,
                        "the client did not complete the handshake",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(tls)
}

/// Reads one connection's byte stream (`stream`, over `socket`) until EOF or error;
/// after the stop signal, reads only what has already arrived, then ends.
fn read_stream(
    ctx: &InputContext,
    stream: &mut dyn Stream,
    socket: &TcpStream,
    peer: SocketAddr,
    options: &ConnOptions,
) {
    let mut acks = options.delivery_acks.then(ConnAcks::new);
    let mut read_timeout = POLL;
    let hostname = peer.to_string();
    let headers = RecordHeaders {
        logger: &ctx.name,
        r#type: None,
        hostname: &hostname,
    };
    let mut runner = ctx.new_split_runner();
    runner.set_label(format!("{}:{peer}", ctx.name));
    let mut decoder = ctx.new_decoder();
    let mut draining = false;
    loop {
        if !draining && ctx.stop.is_raised() {
            draining = true;
            if socket.set_nonblocking(true).is_err() {
                break;
            }
        }
        let eof = match read_step(ctx, peer, runner.read_from(&mut *stream as &mut dyn Read)) {
            ReadStep::Data { eof } => eof,
            ReadStep::Again => continue,
            // Everything that had arrived is read.
            ReadStep::Idle if draining => break,
            ReadStep::Idle => {
                if let Some(acks) = &mut acks {
                    acks.consumed_to(runner.offset());
                    if !acknowledge(ctx, acks, stream, socket, peer, &mut read_timeout) {
                        return;
                    }
                }
                continue;
            }
        };
        // One read's records go to each plugin as one batch, under one acknowledgement
        // unit when the sender wants acknowledgements.
        let mut batch = ctx.batch();
        let units = acks.as_mut().map(|a| a as &mut dyn AckUnits);
        let delivered = batch
            .deliver_records(&mut runner, eof, decoder.as_deref_mut(), &headers, units)
            .and_then(|_| batch.route());
        if let Err(e) = delivered {
            tracing::debug!(input = %ctx.name, %peer, error = %e, "delivery stopped");
            return;
        }
        if let Some(acks) = &mut acks {
            acks.consumed_to(runner.offset());
        }
        if let Some(acks) = &mut acks
            && !acknowledge(ctx, acks, stream, socket, peer, &mut read_timeout)
        {
            return;
        }
        if eof {
            break;
        }
    }
    if let Some(acks) = &mut acks {
        drain_acks(acks, runner.offset(), stream);
    }
    tracing::debug!(input = %ctx.name, %peer, "connection closed");
}

/// What one read of a connection gave.
enum ReadStep {
    /// Bytes (or none, at `eof`) to deliver.
    Data { eof: bool },
    /// Nothing yet (the poll timeout, or non-blocking while draining).
    Idle,
    /// Interrupted: read again.
    Again,
}

fn read_step(ctx: &InputContext, peer: SocketAddr, read: std::io::Result<usize>) -> ReadStep {
    match read {
        Ok(n) => ReadStep::Data { eof: n == 0 },
        Err(e) if e.kind() == IoErrorKind::Interrupted => ReadStep::Again,
        Err(e) if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) => {
            ReadStep::Idle
        }
        // A TLS peer that closed its socket without close_notify (it died): for plain
        // TCP that is a plain EOF, so it is one here too.
        Err(e) if e.kind() == IoErrorKind::UnexpectedEof => {
            tracing::debug!(input = %ctx.name, %peer, error = %e, "connection ended");
            ReadStep::Data { eof: true }
        }
        Err(e) => {
            tracing::warn!(input = %ctx.name, %peer, error = %e, "read failed");
            ReadStep::Data { eof: true }
        }
    }
}

/// Stopping or EOF: gives the sender what its outputs confirm within [`ACK_DRAIN`],
/// so that a clean stop does not make it send those messages again.
fn drain_acks(acks: &mut ConnAcks, offset: u64, stream: &mut dyn Stream) {
    let deadline = Instant::now() + ACK_DRAIN;
    acks.consumed_to(offset);
    while acks.pending() && Instant::now() < deadline {
        std::thread::sleep(ACK_POLL);
        acks.consumed_to(offset);
        if acks.write_back(stream).is_err() {
            break;
        }
    }
}

/// Writes the acknowledgements due and sets the read timeout for what is owed.
/// False when the connection must be closed.
fn acknowledge(
    ctx: &InputContext,
    acks: &mut ConnAcks,
    stream: &mut dyn Stream,
    socket: &TcpStream,
    peer: SocketAddr,
    read_timeout: &mut Duration,
) -> bool {
    if let Err(e) = acks.write_back(stream) {
        tracing::warn!(input = %ctx.name, %peer, error = %e, "closing the connection: the sender will send again what was not acknowledged");
        return false;
    }
    let wanted = if acks.pending() { ACK_POLL } else { POLL };
    if wanted != *read_timeout && socket.set_read_timeout(Some(wanted)).is_ok() {
        *read_timeout = wanted;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(address: &str, net: &str) -> TcpInputConfig {
        TcpInputConfig {
            address: address.into(),
            net: net.into(),
            use_tls: false,
            tls: None,
            keep_alive: false,
            keep_alive_period: 7200,
            delivery_acks: false,
        }
    }

    #[test]
    fn config_checks() {
        assert!(TcpInput::new(&cfg("127.0.0.1:5565", "tcp")).is_ok());
        assert!(TcpInput::new(&cfg("127.0.0.1:5565", "tcp4")).is_ok());
        assert_eq!(
            TcpInput::new(&cfg("127.0.0.1:5565", "tcp6")).unwrap_err().0,
            "address"
        );
        assert_eq!(
            TcpInput::new(&cfg("127.0.0.1:5565", "unix")).unwrap_err().0,
            "net"
        );
        assert_eq!(
            TcpInput::new(&cfg("no port", "tcp")).unwrap_err().0,
            "address"
        );
        // TLS: a server needs a certificate and its key; [tls] without use_tls is
        // refused rather than silently ignored.
        let mut c = cfg("127.0.0.1:1", "tcp");
        c.use_tls = true;
        assert_eq!(TcpInput::new(&c).unwrap_err().0, "tls.cert_file");
        let pki = tempfile::tempdir().unwrap();
        heka_e2e::pki::write_pki(pki.path());
        c.tls = Some(TlsConfig {
            cert_file: Some(pki.path().join("server.pem")),
            key_file: Some(pki.path().join("server.key")),
            ..Default::default()
        });
        assert!(TcpInput::new(&c).is_ok());
        c.use_tls = false;
        assert_eq!(TcpInput::new(&c).unwrap_err().0, "use_tls");
    }
}
