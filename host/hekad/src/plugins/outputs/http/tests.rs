//! HttpOutput against a real HTTP server (tiny_http on 127.0.0.1:0): every outcome the
//! runner must tell apart, and what arrives at the server.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use heka_message::Message;
use heka_pipeline::{Output, OutputError};

use super::{HttpConfig, HttpOutput};

/// What the test server does with one request.
enum Reply {
    /// Answer with this status, headers and body.
    Status(u16, Vec<(&'static str, &'static str)>, &'static str),
    /// Never answer (until the test ends).
    Hang,
}

/// A request as the server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The client's address: the same port means the same connection.
    peer: Option<std::net::SocketAddr>,
}

impl Seen {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

struct TestServer {
    base: String,
    seen: mpsc::Receiver<Seen>,
    /// Dropping it releases hanging requests and ends the server thread.
    release: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `replies` in order, one per request, then stops.
    fn start(replies: Vec<Reply>) -> TestServer {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let (seen_tx, seen) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            for reply in replies {
                let Ok(Some(mut request)) = server.recv_timeout(Duration::from_secs(20)) else {
                    return;
                };
                let mut body = Vec::new();
                let _ = request.as_reader().read_to_end(&mut body);
                let _ = seen_tx.send(Seen {
                    method: request.method().to_string(),
                    url: request.url().to_owned(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                    peer: request.remote_addr().copied(),
                });
                match reply {
                    Reply::Status(code, headers, text) => {
                        let mut response =
                            tiny_http::Response::from_string(text).with_status_code(code);
                        for (name, value) in headers {
                            let header = tiny_http::Header::from_bytes(name, value)
                                .expect("valid test header");
                            response = response.with_header(header);
                        }
                        let _ = request.respond(response);
                    }
                    Reply::Hang => {
                        // Holds the request unanswered until the test is over.
                        let _ = release_rx.recv_timeout(Duration::from_secs(30));
                        drop(request);
                    }
                }
            }
        });
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            seen,
            release: Some(release),
            thread: Some(thread),
        }
    }

    fn next_seen(&self) -> Seen {
        self.seen
            .recv_timeout(Duration::from_secs(10))
            .expect("the server saw a request")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn output(toml_text: &str) -> HttpOutput {
    let cfg: HttpConfig = toml::from_str(toml_text).expect("valid test config");
    cfg.build("TestHttpOutput").expect("buildable test config")
}

fn for_server(server: &TestServer, extra: &str) -> HttpOutput {
    output(&format!(
        "address = \"{}/hook/SECRET?token=SECRET\"\n{extra}",
        server.base
    ))
}

fn send(out: &mut HttpOutput, payload: &str) -> Result<(), OutputError> {
    out.send(&Message::default(), payload.as_bytes())
}

/// Reasons go to logs: they must never hold the secret parts of the address.
fn assert_redacted(result: &Result<(), OutputError>) {
    let text = format!("{result:?}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[test]
fn ok_delivers_the_body_with_method_and_url() {
    let server = TestServer::start(vec![Reply::Status(200, vec![], "ok")]);
    let mut out = for_server(&server, "");
    assert_eq!(send(&mut out, r#"{"text":"hi"}"#), Ok(()));
    let seen = server.next_seen();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.url, "/hook/SECRET?token=SECRET");
    assert_eq!(seen.body, br#"{"text":"hi"}"#);
}

#[test]
fn redirects_count_as_delivered_and_are_not_followed() {
    let server = TestServer::start(vec![Reply::Status(
        302,
        vec![("Location", "http://127.0.0.1:1/elsewhere")],
        "",
    )]);
    let mut out = for_server(&server, "");
    assert_eq!(send(&mut out, "x"), Ok(()));
}

#[test]
fn server_error_then_success_is_retry_then_ok() {
    let server = TestServer::start(vec![
        Reply::Status(500, vec![], "boom"),
        Reply::Status(200, vec![], "ok"),
    ]);
    let mut out = for_server(&server, "");
    let first = send(&mut out, "m1");
    assert_redacted(&first);
    match &first {
        Err(OutputError::Retry { reason, after }) => {
            assert!(reason.contains("500"), "{reason}");
            assert!(reason.contains("boom"), "{reason}");
            assert_eq!(*after, None);
        }
        other => panic!("expected Retry, got {other:?}"),
    }
    // The runner sends the same payload again.
    assert_eq!(send(&mut out, "m1"), Ok(()));
    assert_eq!(server.next_seen().body, b"m1");
    assert_eq!(server.next_seen().body, b"m1");
}

#[test]
fn too_many_requests_retries_after_what_the_server_asked() {
    let server = TestServer::start(vec![
        Reply::Status(429, vec![("Retry-After", "1")], "slow down"),
        Reply::Status(503, vec![("Retry-After", "7")], ""),
        Reply::Status(429, vec![], ""),
    ]);
    let mut out = for_server(&server, "");
    let first = send(&mut out, "m");
    assert_redacted(&first);
    match first {
        Err(OutputError::Retry { after, .. }) => {
            assert_eq!(after, Some(Duration::from_secs(1)));
        }
        other => panic!("expected Retry, got {other:?}"),
    }
    match send(&mut out, "m") {
        Err(OutputError::Retry { after, .. }) => {
            assert_eq!(after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Retry, got {other:?}"),
    }
    // Without Retry-After the runner's own back-off applies.
    match send(&mut out, "m") {
        Err(OutputError::Retry { after, .. }) => assert_eq!(after, None),
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[test]
fn client_error_is_dropped_with_the_body_in_the_reason() {
    let long_body: &'static str = Box::leak("x".repeat(5000).into_boxed_str());
    let server = TestServer::start(vec![
        Reply::Status(404, vec![], "no_such_hook\n"),
        Reply::Status(400, vec![], long_body),
        Reply::Status(200, vec![], ""),
    ]);
    let mut out = for_server(&server, "");
    let first = send(&mut out, "m");
    assert_redacted(&first);
    match first {
        Err(OutputError::Drop(reason)) => {
            assert!(reason.contains("404"), "{reason}");
            assert!(reason.contains("no_such_hook"), "{reason}");
            assert!(reason.contains(&format!("{}/…", server.base)), "{reason}");
        }
        other => panic!("expected Drop, got {other:?}"),
    }
    match send(&mut out, "m") {
        Err(OutputError::Drop(reason)) => {
            assert!(
                reason.len() < 1000,
                "body truncated: {} bytes",
                reason.len()
            );
            assert!(reason.ends_with('…'), "{reason}");
        }
        other => panic!("expected Drop, got {other:?}"),
    }
    // The output goes on after a drop.
    assert_eq!(send(&mut out, "m"), Ok(()));
}

#[test]
fn connection_refused_is_retry() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
        // Dropped here: nothing listens on the port any more.
    };
    let mut out = output(&format!(
        "address = \"http://127.0.0.1:{port}/hook/SECRET\""
    ));
    let result = send(&mut out, "m");
    assert_redacted(&result);
    assert!(
        matches!(result, Err(OutputError::Retry { after: None, .. })),
        "{result:?}"
    );
}

#[test]
fn timeout_is_retry() {
    let server = TestServer::start(vec![Reply::Hang]);
    let mut out = for_server(&server, "http_timeout = 200");
    let result = send(&mut out, "m");
    assert_redacted(&result);
    match &result {
        Err(OutputError::Retry { reason, .. }) => assert!(reason.contains("timeout"), "{reason}"),
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[test]
fn headers_and_basic_auth_arrive() {
    let server = TestServer::start(vec![Reply::Status(200, vec![], "")]);
    let mut out = for_server(
        &server,
        r#"
        method = "PUT"
        username = "Aladdin"
        password = "open sesame"
        [headers]
        Content-Type = ["application/json"]
        X-Multi = ["one", "two"]
        "#,
    );
    assert_eq!(send(&mut out, "{}"), Ok(()));
    let seen = server.next_seen();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.header("Content-Type"), ["application/json"]);
    assert_eq!(seen.header("X-Multi"), ["one", "two"]);
    assert_eq!(
        seen.header("Authorization"),
        ["Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="]
    );
    assert_eq!(seen.body, b"{}");
}

#[test]
fn get_sends_no_body() {
    let server = TestServer::start(vec![Reply::Status(200, vec![], "")]);
    let mut out = for_server(&server, r#"method = "GET""#);
    assert_eq!(send(&mut out, "payload"), Ok(()));
    let seen = server.next_seen();
    assert_eq!(seen.method, "GET");
    assert!(seen.body.is_empty());
}

#[test]
fn connection_is_reused_across_requests() {
    let server = TestServer::start(vec![
        Reply::Status(200, vec![], "a"),
        Reply::Status(404, vec![], "b"),
        Reply::Status(200, vec![], "c"),
    ]);
    let mut out = for_server(&server, "");
    assert_eq!(send(&mut out, "1"), Ok(()));
    assert!(matches!(send(&mut out, "2"), Err(OutputError::Drop(_))));
    assert_eq!(send(&mut out, "3"), Ok(()));
    let seen: Vec<Seen> = (0..3).map(|_| server.next_seen()).collect();
    let bodies: Vec<&[u8]> = seen.iter().map(|s| s.body.as_slice()).collect();
    assert_eq!(bodies, [b"1", b"2", b"3"]);
    assert!(seen[0].peer.is_some());
    assert!(
        seen.iter().all(|s| s.peer == seen[0].peer),
        "one connection: {:?}",
        seen.iter().map(|s| s.peer).collect::<Vec<_>>()
    );
}

/// Through the registry and the config loader, as hekad builds it.
mod registry {
    use crate::assemble::{Assembled, assemble};
    use crate::config::ConfigErrors;

    fn build(text: &str) -> Result<Assembled, ConfigErrors> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hekad.toml");
        std::fs::write(&path, text).expect("write config");
        let config = crate::config::load(&path)?;
        assemble(&config)
    }

    const BASE: &str = r#"
[PayloadEncoder]
[Slack]
type = "HttpOutput"
message_matcher = "TRUE"
"#;

    #[test]
    fn builds_from_hekad_toml() {
        let text = format!(
            "{BASE}encoder = \"PayloadEncoder\"\naddress = \"http://127.0.0.1:9/hook/SECRET\"\n\
             [Slack.headers]\nContent-Type = [\"application/json\"]\n"
        );
        let assembled = build(&text).unwrap_or_else(|e| panic!("{e}"));
        assert!(assembled.outputs.iter().any(|(name, _, _)| name == "Slack"));
    }

    #[test]
    fn errors_name_section_and_key_without_the_address() {
        let cases = [
            (
                "encoder = \"PayloadEncoder\"\nadress = \"http://h/SECRET\"\n",
                "adress",
            ),
            (
                "encoder = \"PayloadEncoder\"\naddress = \"ftp://h/SECRET\"\n",
                "address",
            ),
            ("address = \"http://h/SECRET\"\n", "encoder"),
        ];
        for (extra, key) in cases {
            let err = match build(&format!("{BASE}{extra}")) {
                Ok(_) => panic!("{extra}: accepted"),
                Err(e) => e.to_string(),
            };
            assert!(err.contains("[Slack]"), "{extra}: {err}");
            assert!(err.contains(key), "{extra}: {err}");
            assert!(!err.contains("SECRET"), "{extra}: {err}");
        }
    }
}

/// `workers > 1`: requests go out together, each on its own connection, and each
/// outcome comes back for its own ticket, in the order the server answers.
mod pipelined {
    use std::sync::Arc;
    use std::time::Duration;

    use heka_message::Message;
    use heka_pipeline::{Bytes, Delivery, Outcomes, Output, OutputError, Ticket};

    use super::output;

    fn delivery(n: u64) -> Delivery {
        Delivery {
            ticket: Ticket(n),
            msg: Arc::new(Message::default()),
            payload: Bytes::from(n.to_string()),
        }
    }

    #[test]
    fn requests_are_in_flight_together_and_answered_out_of_order() {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let (peers_tx, peers) = std::sync::mpsc::channel();
        // The server answers the next request only once the outcome of the previous
        // answer arrived: the workers run concurrently, so answers sent back to back
        // could come out in any order.
        let (next_tx, next_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // Holds three requests at once (so three were in flight), then answers the
            // last first: 200, then 429 with Retry-After, then 200.
            let mut held = Vec::new();
            while held.len() < 3 {
                match server.recv_timeout(Duration::from_secs(20)) {
                    Ok(Some(mut request)) => {
                        let mut body = String::new();
                        let _ = request.as_reader().read_to_string(&mut body);
                        let _ = peers_tx.send(request.remote_addr().copied());
                        held.push((body, request));
                    }
                    _ => return,
                }
            }
            held.sort_by(|a, b| b.0.cmp(&a.0));
            for (i, (body, request)) in held.into_iter().enumerate() {
                if i > 0 && next_rx.recv_timeout(Duration::from_secs(20)).is_err() {
                    return;
                }
                let response = match body.as_str() {
                    "2" => tiny_http::Response::from_string("slow down")
                        .with_status_code(429)
                        .with_header(
                            tiny_http::Header::from_bytes("Retry-After", "7").expect("header"),
                        ),
                    _ => tiny_http::Response::from_string("ok"),
                };
                let _ = request.respond(response);
            }
        });
        let mut out = output(&format!(
            "address = \"http://127.0.0.1:{port}/hook\"\nworkers = 3"
        ));
        let pipelined = out.pipelined().expect("workers = 3 is pipelined");
        assert_eq!(pipelined.max_in_flight() % 3, 0);
        let (outcomes, rx) = Outcomes::channel();
        for n in 1..=3 {
            pipelined.submit(delivery(n), &outcomes).expect("submitted");
        }
        let got: Vec<_> = (0..3)
            .map(|_| {
                let outcome = rx
                    .recv_timeout(Duration::from_secs(20))
                    .expect("an outcome");
                let _ = next_tx.send(());
                outcome
            })
            .collect();
        assert_eq!(got[0].ticket, Ticket(3));
        assert_eq!(got[0].result, Ok(()));
        assert_eq!(got[1].ticket, Ticket(2));
        assert!(
            matches!(&got[1].result, Err(OutputError::Retry { after, .. }) if *after == Some(Duration::from_secs(7))),
            "{:?}",
            got[1].result
        );
        assert_eq!((got[2].ticket, &got[2].result), (Ticket(1), &Ok(())));
        let peers: std::collections::HashSet<_> = peers.try_iter().collect();
        assert_eq!(peers.len(), 3, "three connections: {peers:?}");
        thread.join().expect("server thread");
    }

    #[test]
    fn one_worker_is_heka_s_one_request_at_a_time() {
        let mut out = output("address = \"http://127.0.0.1:1/hook\"\nworkers = 1");
        assert!(out.pipelined().is_none());
        let err = toml::from_str::<super::HttpConfig>("address = \"http://h/\"\nworkers = 0")
            .expect("parses")
            .build("out")
            .expect_err("workers = 0");
        assert_eq!(err.key, "workers");
    }
}
