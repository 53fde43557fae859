//! TcpOutput against real sockets on 127.0.0.1: delivery, acknowledgements, the
//! window sent again after a connection dies, connect failures, config checks.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use heka_message::Message;
use heka_pipeline::{Output, OutputError};

use super::{TcpOutput, TcpOutputConfig};
use crate::plugins::net::encode_ack;

fn config(address: &str, acks: bool) -> TcpOutputConfig {
    let text = format!("address = \"{address}\"\ndelivery_acks = {acks}\nack_timeout = \"2s\"\n");
    crate::config::from_table(&toml::from_str(&text).unwrap()).unwrap()
}

fn output(address: &str, acks: bool) -> TcpOutput {
    TcpOutput::new("out", config(address, acks).settings().unwrap())
}

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// Reads exactly `n` bytes from the next accepted connection (or `conn`).
fn read_n(conn: &mut TcpStream, n: usize) -> Vec<u8> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0; n];
    conn.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn without_acks_a_flush_delivers_to_the_socket() {
    let (l, addr) = listener();
    let mut out = output(&addr, false);
    let msg = Message::default();
    out.send(&msg, b"one").unwrap();
    out.send(&msg, b"two").unwrap();
    out.flush().unwrap();
    let (mut conn, _) = l.accept().unwrap();
    assert_eq!(read_n(&mut conn, 6), b"onetwo");
}

#[test]
fn with_acks_a_flush_waits_for_them_and_a_new_connection_gets_the_window_again() {
    let (l, addr) = listener();
    let mut out = output(&addr, true);
    let msg = Message::default();
    let receiver = std::thread::spawn(move || {
        // First connection: read everything, acknowledge only the first 3 bytes,
        // then die.
        let (mut conn, _) = l.accept().unwrap();
        assert_eq!(read_n(&mut conn, 9), b"onetwosix");
        conn.write_all(&encode_ack(3)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(conn);
        // Second connection: the unacknowledged bytes come again, from their start.
        let (mut conn, _) = l.accept().unwrap();
        assert_eq!(read_n(&mut conn, 6), b"twosix");
        // Acknowledged in two pieces, the first split inside its 8 bytes.
        let ack = encode_ack(3);
        conn.write_all(&ack[..5]).unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        conn.write_all(&ack[5..]).unwrap();
        conn.write_all(&encode_ack(6)).unwrap();
        conn
    });
    out.send(&msg, b"one").unwrap();
    out.send(&msg, b"two").unwrap();
    out.send(&msg, b"six").unwrap();
    let first = out.flush();
    assert!(matches!(first, Err(OutputError::Retry { .. })), "{first:?}");
    assert_eq!(out.window, b"twosix");
    out.flush().unwrap();
    assert!(out.window.is_empty());
    let _conn = receiver.join().unwrap();
}

#[test]
fn an_unreachable_receiver_is_a_retry_and_nothing_is_kept_twice() {
    let (l, addr) = listener();
    drop(l);
    let mut out = output(&addr, true);
    let msg = Message::default();
    let err = out.send(&msg, b"x").unwrap_err();
    assert!(matches!(err, OutputError::Retry { .. }), "{err:?}");
    assert!(out.window.is_empty());
    assert!(out.flush().is_ok(), "nothing to deliver");
}

#[test]
fn an_acknowledgement_beyond_what_was_sent_drops_the_connection() {
    let (l, addr) = listener();
    let mut out = output(&addr, true);
    out.send(&Message::default(), b"abc").unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut conn, _) = l.accept().unwrap();
        read_n(&mut conn, 3);
        conn.write_all(&encode_ack(99)).unwrap();
        conn
    });
    let err = out.flush().unwrap_err();
    assert!(err.to_string().contains("outside what was sent"), "{err}");
    assert_eq!(out.window, b"abc", "kept for the next connection");
    drop(receiver.join().unwrap());
}

#[test]
fn config_errors_name_their_key() {
    let bad = |toml: &str| {
        let cfg: TcpOutputConfig =
            crate::config::from_table(&toml::from_str(toml).unwrap()).unwrap();
        cfg.settings().unwrap_err().0
    };
    assert_eq!(bad("address = \"no port\""), "address");
    assert_eq!(bad("local_address = \"not an ip\""), "local_address");
    assert_eq!(bad("ack_timeout = \"soon\""), "ack_timeout");
    assert_eq!(bad("max_unacked = 10"), "max_unacked");
    assert_eq!(
        bad("keep_alive = true\nkeep_alive_period = 0"),
        "keep_alive_period"
    );
    let ok: TcpOutputConfig = crate::config::from_table(
        &toml::from_str("address = \"127.0.0.1:1\"\nlocal_address = \"127.0.0.1\"").unwrap(),
    )
    .unwrap();
    assert!(ok.settings().is_ok());
}
