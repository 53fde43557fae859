//! Liveness: a wedged filter turns `/healthz` to 503 within the liveness timeout
//! (here 500 ms, plus a poll); an output outage does not. Readiness follows start
//! and shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::{Harness, eventually, typed};

#[test]
fn a_wedged_filter_fails_liveness_and_an_output_outage_does_not() {
    let h = Harness::start(|c| c.liveness_timeout = Duration::from_millis(500));
    h.send("x", 3);
    assert_eq!(h.get("/healthz").0, 200);

    // The sink goes down: the output retries, liveness holds.
    h.down.store(true, Ordering::Relaxed);
    h.feed.send(typed("x")).unwrap();
    eventually("the output retries", || {
        h.json("/api/v1/status")["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "out" && p["retries"].as_u64().unwrap() >= 20)
    });
    let (code, body) = h.get("/healthz");
    assert_eq!(code, 200, "an output outage must not fail liveness: {body}");
    let ready = h.json("/readyz");
    assert_eq!(ready["outputs_retrying"][0], "out");
    h.down.store(false, Ordering::Relaxed);

    // A filter blocks inside one call: 503 naming it, then 200 once it returns.
    h.feed.send(typed("block")).unwrap();
    eventually("liveness fails", || h.get("/healthz").0 == 503);
    let (_, body) = h.get("/healthz");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["wedged"][0][0], "pass", "{body}");
    h.release.send(()).unwrap();
    eventually("liveness recovers", || h.get("/healthz").0 == 200);
}

#[test]
fn readiness_follows_start_and_shutdown() {
    let mut h = Harness::start(|_| {});
    let (code, body) = h.get("/readyz");
    assert_eq!(code, 200, "{body}");
    let pipeline = h.pipeline.take().unwrap();
    pipeline.shutdown();
    let (code, body) = h.get("/readyz");
    assert_eq!(code, 503, "{body}");
    pipeline.wait();
    let status = h.json("/api/v1/status");
    assert!(
        status["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "stopped"),
        "{status}"
    );
}
