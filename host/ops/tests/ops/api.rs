//! `/api/v1/status`, `/history`, `/terminations`, the live tail and the token rule.

use std::io::{BufRead, BufReader};

use crate::common::{Harness, agent, eventually, typed};

#[test]
fn status_history_and_terminations_describe_the_pipeline() {
    let h = Harness::start(|_| {});
    h.send("x", 10);
    h.feed.send(typed("fail")).unwrap();
    h.feed.send(typed("die")).unwrap();
    eventually("the termination is recorded", || {
        h.json("/api/v1/terminations").as_array().unwrap().len() == 1
    });
    let t = &h.json("/api/v1/terminations")[0];
    assert_eq!(t["plugin"], "dier");
    assert_eq!(t["type"], "TestFilter");
    assert_eq!(t["reason"], "fatal_return");
    assert!(t["message"].as_str().unwrap().contains("returned 1"), "{t}");

    let status = h.json("/api/v1/status");
    let plugins = status["plugins"].as_array().unwrap();
    let names: Vec<_> = plugins
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["in", "pass", "dier", "out"], "pipeline order");
    let by = |n: &str| plugins.iter().find(|p| p["name"] == n).unwrap().clone();
    assert_eq!(by("dier")["state"], "terminated");
    assert_eq!(by("pass")["state"], "running");
    assert!(by("in")["sent_messages"].as_u64().unwrap() >= 12);
    eventually("the failure is counted", || {
        h.json("/api/v1/status")["plugins"][1]["processing_errors"] == 1
    });
    assert!(by("out")["sent_messages"].as_u64().unwrap() >= 10);
    assert_eq!(by("out")["queue_capacity"], 30);

    // History: rates appear once the sampler has two readings around traffic.
    eventually("history has rates", || {
        h.send("x", 20);
        let history = h.json("/api/v1/history?seconds=60");
        history["plugins"]["out"]["in"]
            .as_array()
            .is_some_and(|v| v.iter().any(|r| r.as_f64().unwrap() > 0.0))
    });
    let history = h.json("/api/v1/history?seconds=2");
    assert!(history["time"].as_array().unwrap().len() <= 2);
}

/// Reads an SSE response: (event, data) pairs until the stream ends.
fn read_events(reader: impl std::io::Read, mut on: impl FnMut(&str, &str)) {
    let mut event = String::new();
    for line in BufReader::new(reader).lines() {
        let line = line.expect("stream");
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_owned();
        } else if let Some(d) = line.strip_prefix("data: ") {
            on(&event, d);
        }
    }
}

#[test]
fn the_live_tail_streams_exactly_the_matching_messages() {
    let h = Harness::start(|_| {});
    let (code, body) = h.get("/api/v1/tail?match=Type%20%3D%3D");
    assert_eq!(code, 400, "{body}");
    let bad: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bad["offset"], 7, "{bad}");

    let url = format!(
        "{}/api/v1/tail?match=Type%20%3D%3D%20%27a%27&limit=5",
        h.base
    );
    let mut resp = agent().get(&url).call().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut got = Vec::new();
    let feed = h.feed.clone();
    read_events(resp.body_mut().as_reader(), |event, data| match event {
        "open" => {
            for i in 0..5 {
                feed.send(typed("b")).unwrap();
                let mut a = typed("a");
                a.payload = Some(format!("a{i}").into());
                feed.send(a).unwrap();
            }
        }
        "message" => got.push(serde_json::from_str::<serde_json::Value>(data).unwrap()),
        _ => {}
    });
    let payloads: Vec<_> = got.iter().map(|m| m["payload"].as_str().unwrap()).collect();
    assert_eq!(payloads, ["a0", "a1", "a2", "a3", "a4"]);
    assert!(got.iter().all(|m| m["type"] == "a"));
    eventually("the tap is closed", || {
        h.json("/api/v1/status")["tail_sessions"] == 0
    });
}

#[test]
fn off_loopback_the_revealing_calls_need_the_token() {
    let with_token = Harness::start(|c| {
        c.address = "0.0.0.0:0".parse().unwrap();
        c.token = Some("s3cret".into());
    });
    assert_eq!(with_token.get("/api/v1/tail?match=TRUE&limit=0").0, 401);
    assert_eq!(
        with_token
            .get("/api/v1/tail?match=TRUE&limit=0&token=wrong")
            .0,
        401
    );
    assert_eq!(
        with_token
            .get("/api/v1/tail?match=TRUE&limit=0&token=s3cret")
            .0,
        200
    );
    let resp = agent()
        .post(&format!("{}/api/v1/report", with_token.base))
        .header("Authorization", "Bearer s3cret")
        .send_empty()
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Reading counters needs no token.
    assert_eq!(with_token.get("/metrics").0, 200);

    let without = Harness::start(|c| c.address = "0.0.0.0:0".parse().unwrap());
    assert_eq!(without.get("/api/v1/tail?match=TRUE&limit=0").0, 403);
}

#[test]
fn the_report_uses_hekas_names_and_the_page_is_served_with_a_strict_policy() {
    let h = Harness::start(|_| {});
    h.send("x", 2);
    let mut resp = agent()
        .post(&format!("{}/api/v1/report", h.base))
        .send_empty()
        .unwrap();
    let text = resp.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("pass:\n    Type: TestFilter (filter)"),
        "{text}"
    );
    assert!(text.contains("InChanCapacity: 30"), "{text}");
    let resp = agent().get(&format!("{}/", h.base)).call().unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    for path in ["/app.js", "/app.css", "/favicon.ico"] {
        assert_eq!(h.get(path).0, 200, "{path}");
    }
}
