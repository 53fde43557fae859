//! What TcpInput and TcpOutput share: TCP keep-alive, the byte stream a connection
//! reads and writes (plain or TLS), and the delivery acknowledgement they exchange.
//!
//! **Delivery acknowledgements** (`delivery_acks = true` on both ends; a hekad-rs
//! extension, Heka's TcpInput never writes to its connections). Heka's TcpOutput
//! counted a message as delivered once the kernel took it, so an aggregator killed
//! with messages in its socket buffer or its pipeline lost them. With acks, the input
//! writes back, on the same connection, the number of bytes of the stream (counted
//! from the connection's first byte, TLS plaintext) whose records its outputs have
//! delivered: 8 bytes, big-endian, a running total that only grows. The output keeps
//! every byte it sent until an ack covers it, and after a reconnect sends the kept
//! bytes again from their start (so at most the unacknowledged window is repeated).
//! [`ACK_LEN`], [`encode_ack`] and [`AckReader`] are the one definition of that format.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection's byte stream: the socket itself, or TLS over it.
pub trait Stream: Read + Write + Send {
    /// Ends the session cleanly before the socket is closed (TLS: `close_notify`, so
    /// the peer sees an orderly end rather than a truncation); plain TCP has nothing
    /// to say.
    fn close(&mut self) {}
}

impl Stream for TcpStream {}
impl Stream for &TcpStream {}

impl Stream for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

impl Stream for rustls::StreamOwned<rustls::ServerConnection, &TcpStream> {
    fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// Bytes of one delivery acknowledgement.
pub const ACK_LEN: usize = 8;

/// The wire form of "`offset` bytes of the stream are delivered".
pub fn encode_ack(offset: u64) -> [u8; ACK_LEN] {
    offset.to_be_bytes()
}

/// Collects acknowledgements from reads that may end anywhere inside one.
#[derive(Debug, Default)]
pub struct AckReader {
    buf: [u8; ACK_LEN],
    len: usize,
}

impl AckReader {
    /// Reads what is available from `stream` (waiting at most the socket's read
    /// timeout) and returns the latest complete acknowledgement seen, if any.
    /// `Ok(None)` on a timeout; `Err(UnexpectedEof)` when the peer closed.
    pub fn read(&mut self, stream: &mut dyn Stream) -> io::Result<Option<u64>> {
        let mut chunk = [0u8; 256];
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by the peer",
                ));
            }
            Ok(n) => n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut latest = None;
        for &b in &chunk[..n] {
            self.buf[self.len] = b;
            self.len += 1;
            if self.len == ACK_LEN {
                latest = Some(u64::from_be_bytes(self.buf));
                self.len = 0;
            }
        }
        Ok(latest)
    }
}

/// True for the errors a read or write with a timeout ends with when time is up.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Heka's default `keep_alive_period` for TcpInput and TcpOutput: 7200 s.
pub fn default_keep_alive_period() -> u64 {
    7200
}

/// Turns on TCP keep-alive with `period` as the idle time before the first probe
/// and between probes (Heka's `keep_alive_period`, in seconds).
pub fn set_keep_alive(stream: &TcpStream, period: Duration) -> io::Result<()> {
    let keep_alive = socket2::TcpKeepalive::new()
        .with_time(period)
        .with_interval(period);
    socket2::SockRef::from(stream).set_tcp_keepalive(&keep_alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream handing out scripted reads.
    struct Script(Vec<io::Result<Vec<u8>>>);
    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.remove(0) {
                Ok(bytes) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Err(e) => Err(e),
            }
        }
    }
    impl Stream for Script {}
    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn acks_split_anywhere_are_reassembled() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&encode_ack(5));
        wire.extend_from_slice(&encode_ack(0x0102_0304_0506));
        let mut script = Script(vec![
            Ok(wire[..3].to_vec()),
            Err(io::ErrorKind::WouldBlock.into()),
            Ok(wire[3..11].to_vec()),
            Ok(wire[11..].to_vec()),
            Ok(Vec::new()),
        ]);
        let mut reader = AckReader::default();
        assert_eq!(reader.read(&mut script).unwrap(), None);
        assert_eq!(reader.read(&mut script).unwrap(), None);
        assert_eq!(reader.read(&mut script).unwrap(), Some(5));
        assert_eq!(reader.read(&mut script).unwrap(), Some(0x0102_0304_0506));
        let eof = reader.read(&mut script).unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }
}
