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

/// A TLS server session on the next connection `l` accepts, with the certificate
/// of `pki`'s `server.pem` (see `heka_e2e::pki`).
fn accept_tls(
    l: &TcpListener,
    pki: &std::path::Path,
    client_ca: bool,
) -> rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    let mut cfg = crate::plugins::tls::TlsConfig {
        cert_file: Some(pki.join("server.pem")),
        key_file: Some(pki.join("server.key")),
        ..Default::default()
    };
    if client_ca {
        cfg.client_auth = Some("RequireAndVerifyClientCert".into());
        cfg.client_cafile = Some(pki.join("ca.pem"));
    }
    let config = cfg.server().unwrap();
    let (sock, _) = l.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rustls::StreamOwned::new(rustls::ServerConnection::new(config).unwrap(), sock)
}

fn tls_output(address: &str, pki: &std::path::Path, extra: &str) -> TcpOutput {
    let text = format!(
        "address = \"{address}\"\ndelivery_acks = true\nack_timeout = \"5s\"\nuse_tls = true\n\
         [tls]\nroot_cafile = \"{ca}\"\n{extra}",
        ca = pki.join("ca.pem").display()
    );
    let cfg: TcpOutputConfig = crate::config::from_table(&toml::from_str(&text).unwrap()).unwrap();
    TcpOutput::new("out", cfg.settings().unwrap())
}

#[test]
fn over_tls_the_receiver_gets_the_bytes_and_its_acknowledgements_come_back() {
    let pki = tempfile::tempdir().unwrap();
    heka_e2e::pki::write_pki(pki.path());
    let (l, addr) = listener();
    // The certificate names 127.0.0.1 and localhost: both verify.
    let addr = addr.replace("127.0.0.1", "localhost");
    let mut out = tls_output(&addr, pki.path(), "");
    let server_dir = pki.path().to_owned();
    let receiver = std::thread::spawn(move || {
        let mut tls = accept_tls(&l, &server_dir, false);
        assert_eq!(read_n_tls(&mut tls, 6), b"onetwo");
        tls.write_all(&encode_ack(6)).unwrap();
        tls.flush().unwrap();
        tls
    });
    let msg = Message::default();
    out.send(&msg, b"one").unwrap();
    out.send(&msg, b"two").unwrap();
    out.flush().unwrap();
    assert!(out.window.is_empty(), "acknowledged over TLS");
    drop(receiver.join().unwrap());
}

fn read_n_tls(tls: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tls.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn over_tls_an_untrusted_certificate_or_a_missing_client_certificate_is_a_retry_naming_why() {
    let pki = tempfile::tempdir().unwrap();
    heka_e2e::pki::write_pki(pki.path());
    let other = tempfile::tempdir().unwrap();
    heka_e2e::pki::write_pki(other.path());
    // The receiver's certificate is signed by a CA the output does not trust.
    let (l, addr) = listener();
    let dir = other.path().to_owned();
    let server = std::thread::spawn(move || {
        let mut tls = accept_tls(&l, &dir, false);
        let mut buf = [0u8; 1];
        let _ = tls.read(&mut buf);
    });
    let mut out = tls_output(&addr, pki.path(), "");
    let err = out.send(&Message::default(), b"x").unwrap_err();
    assert!(matches!(err, OutputError::Retry { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    server.join().unwrap();
    // The receiver requires a client certificate: without one the output gets no
    // session; with the agent's, it is delivered.
    let (l, addr) = listener();
    let dir = pki.path().to_owned();
    let server = std::thread::spawn(move || {
        let mut first = accept_tls(&l, &dir, true);
        let mut buf = [0u8; 1];
        assert!(first.read(&mut buf).is_err(), "no client certificate");
        let mut second = accept_tls(&l, &dir, true);
        assert_eq!(read_n_tls(&mut second, 3), b"abc");
        second.write_all(&encode_ack(3)).unwrap();
        second.flush().unwrap();
        second
    });
    let mut anonymous = tls_output(&addr, pki.path(), "");
    anonymous.send(&Message::default(), b"abc").unwrap_or(());
    assert!(anonymous.flush().is_err(), "refused by the receiver");
    let client = format!(
        "cert_file = \"{}\"\nkey_file = \"{}\"\n",
        pki.path().join("client.pem").display(),
        pki.path().join("client.key").display()
    );
    let mut agent = tls_output(&addr, pki.path(), &client);
    agent.send(&Message::default(), b"abc").unwrap();
    agent.flush().unwrap();
    drop(server.join().unwrap());
}

#[test]
fn tls_keys_are_checked_at_start_up() {
    let bad = |toml: &str| {
        let cfg: TcpOutputConfig =
            crate::config::from_table(&toml::from_str(toml).unwrap()).unwrap();
        cfg.settings().unwrap_err().0
    };
    assert_eq!(bad("use_tls = false\n[tls]\n"), "use_tls");
    assert_eq!(
        bad("use_tls = true\n[tls]\nmin_version = \"SSL30\""),
        "tls.min_version"
    );
    assert_eq!(
        bad("use_tls = true\n[tls]\nroot_cafile = \"/nonexistent.pem\""),
        "tls.root_cafile"
    );
}

#[test]
fn with_a_signer_every_record_goes_out_signed_and_verifies_with_the_key() {
    use heka_message::{SignerKeys, Unframed, frame_message, unframe};
    let (l, addr) = listener();
    let text = format!(
        "address = \"{addr}\"\n[signer]\nname = \"agent\"\nhmac_hash = \"sha1\"\nhmac_key = \"k\"\nversion = 3\n"
    );
    let cfg: TcpOutputConfig = crate::config::from_table(&toml::from_str(&text).unwrap()).unwrap();
    let mut out = TcpOutput::new("out", cfg.settings().unwrap());
    let mut record = Vec::new();
    frame_message(b"message one", 1 << 16, &mut record).unwrap();
    out.send(&Message::default(), &record).unwrap();
    // What is not a framed record cannot be signed: dropped, saying why.
    let err = out.send(&Message::default(), b"plain text").unwrap_err();
    assert!(
        matches!(&err, OutputError::Drop(m) if m.contains("use_framing")),
        "{err:?}"
    );
    out.flush().unwrap();
    let (mut conn, _) = l.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut keys = SignerKeys::default();
    keys.insert("agent_3", b"k").unwrap();
    let mut chunk = [0u8; 256];
    loop {
        let n = conn.read(&mut chunk).unwrap();
        got.extend_from_slice(&chunk[..n]);
        if let Unframed::Message {
            header,
            message,
            consumed,
        } = unframe(&got, 1 << 16)
        {
            assert_eq!(consumed, got.len(), "one record");
            assert_eq!(message, b"message one");
            assert_eq!(
                keys.verify(&header, message).unwrap().as_deref(),
                Some("agent")
            );
            break;
        }
        assert!(n > 0, "connection closed before a whole record");
    }
    let bad = |toml: &str| {
        let cfg: TcpOutputConfig =
            crate::config::from_table(&toml::from_str(toml).unwrap()).unwrap();
        cfg.settings().unwrap_err().0
    };
    assert_eq!(
        bad("[signer]\nname = \"a\"\nhmac_key = \"k\"\nhmac_hash = \"sha256\""),
        "signer.hmac_hash"
    );
    assert_eq!(
        bad("[signer]\nname = \"\"\nhmac_key = \"k\""),
        "signer.name"
    );
}
