//! `/api/v1/sandbox_outputs`: the list and each payload, byte for byte, with its
//! content type, read from the filter's slots (here filled directly; the sandbox
//! filter's own recording is driven end to end by the browser test).

use heka_pipeline::PluginKind;

use crate::common::Harness;

const CBUF: &str = "{\"time\":120,\"rows\":2,\"columns\":1,\"seconds_per_row\":60,\
    \"column_info\":[{\"name\":\"HTTP_200\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}\n1\n2\n";

/// GET: (status, content type, body bytes).
fn get_bytes(h: &Harness, path: &str) -> (u16, String, Vec<u8>) {
    let mut resp = h
        .agent
        .get(&format!("{}{path}", h.base))
        .call()
        .expect("request");
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = resp.status().as_u16();
    (
        status,
        content_type,
        resp.body_mut().read_to_vec().expect("body"),
    )
}

#[test]
fn sandbox_outputs_are_listed_and_served_as_injected() {
    let h = Harness::start(|_| {});
    let outputs = h.registry.plugin("pass", PluginKind::Filter);
    let outputs = outputs.sandbox_outputs();
    assert!(outputs.record("cbuf", "HTTP Status", b"old"));
    assert!(outputs.record("cbuf", "HTTP Status", CBUF.as_bytes()));
    assert!(outputs.record("txt", "", b"not \xff utf-8"));
    assert!(outputs.record("html", "page", b"<script>alert(1)</script>"));

    let list = h.json("/api/v1/sandbox_outputs");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["plugin"], "pass");
    assert_eq!(list[0]["name"], "HTTP Status");
    assert_eq!(list[0]["type"], "cbuf");
    assert_eq!(list[0]["bytes"], CBUF.len());
    assert!(list[0]["updated"].as_f64().unwrap() > 1.7e9);
    assert_eq!(list[0]["url"], "/api/v1/sandbox_outputs/pass/HTTP%20Status");
    assert_eq!(list[1]["url"], "/api/v1/sandbox_outputs/pass/");

    let (code, content_type, body) = get_bytes(&h, list[0]["url"].as_str().unwrap());
    assert_eq!(code, 200);
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(body, CBUF.as_bytes());
    // The empty name (Heka's default) and bytes that are not UTF-8, unchanged.
    let (code, _, body) = get_bytes(&h, "/api/v1/sandbox_outputs/pass/");
    assert_eq!((code, body), (200, b"not \xff utf-8".to_vec()));
    // A script's HTML is never served as a page.
    let (_, content_type, _) = get_bytes(&h, "/api/v1/sandbox_outputs/pass/page");
    assert_eq!(content_type, "application/octet-stream");
    assert_eq!(h.get("/api/v1/sandbox_outputs/pass/nope").0, 404);
    // Heka's DashboardOutput file names: <Logger>.<name, \W removed>.<type>.
    let (code, _, body) = get_bytes(&h, "/data/pass.HTTPStatus.cbuf");
    assert_eq!((code, body), (200, CBUF.as_bytes().to_vec()));
    let (code, _, body) = get_bytes(&h, "/data/pass..txt");
    assert_eq!((code, body), (200, b"not \xff utf-8".to_vec()));
    assert_eq!(h.get("/data/pass.HTTPStatus.txt").0, 404);
    assert_eq!(h.get("/data/nobody.HTTPStatus.cbuf").0, 404);
    assert_eq!(h.get("/api/v1/sandbox_outputs/nobody/page").0, 404);
}

#[test]
fn off_loopback_payloads_need_the_token_and_the_list_does_not() {
    let h = Harness::start(|c| {
        c.address = "0.0.0.0:0".parse().unwrap();
        c.token = Some("s3cret".into());
    });
    let stats = h.registry.plugin("pass", PluginKind::Filter);
    stats.sandbox_outputs().record("json", "n", b"{\"a\":1}");
    assert_eq!(h.get("/api/v1/sandbox_outputs").0, 200);
    assert_eq!(h.get("/api/v1/sandbox_outputs/pass/n").0, 401);
    let (code, content_type, body) = get_bytes(&h, "/api/v1/sandbox_outputs/pass/n?token=s3cret");
    assert_eq!((code, content_type.as_str()), (200, "application/json"));
    assert_eq!(body, b"{\"a\":1}");
    // Heka's dashboard files: statistics need no token, payloads do, and so does a
    // name that is not there (no probing without it).
    assert_eq!(h.get("/data/heka_report.json").0, 200);
    assert_eq!(h.get("/data/sandboxes.json").0, 200);
    assert_eq!(h.get("/data/heka_sandbox_termination.tsv").0, 200);
    assert_eq!(h.get("/data/pass.n.json").0, 401);
    assert_eq!(h.get("/data/pass.nothing.json").0, 401);
    assert_eq!(h.get("/data/pass.n.json?token=s3cret").0, 200);
    assert_eq!(h.get("/data/pass.nothing.json?token=s3cret").0, 404);
}

#[test]
fn hekas_dashboard_files_are_served_from_the_registry() {
    let h = Harness::start(|_| {});
    let graph = h.registry.plugin("graph", PluginKind::Filter);
    graph.set_type_name("SandboxFilter");
    graph.received_messages.add(3);
    graph
        .sandbox_outputs()
        .record("cbuf", "HTTP Status", CBUF.as_bytes());
    h.registry.terminated(&graph, "instruction_limit exceeded");

    // The harness's own pipeline (input, filter `pass`, output) is in it too.
    let report = h.json("/data/heka_report.json");
    let by_name = |list: &serde_json::Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["Name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    let entry = by_name(&report["filters"], "graph");
    assert_eq!(entry["ProcessMessageCount"]["value"], 3);
    assert_eq!(entry["Type"]["value"], "SandboxFilter (filter)");
    assert_eq!(
        by_name(&report["globals"], "Router")["ProcessMessageCount"]["representation"],
        "count"
    );
    assert!(
        !report["outputs"].as_array().unwrap().is_empty(),
        "{report}"
    );

    let list = h.json("/data/sandboxes.json");
    let entry = by_name(&list["sandboxes"], "graph");
    assert_eq!(
        entry["Outputs"][0]["Filename"],
        "data/graph.HTTPStatus.cbuf"
    );
    // The file the list names is served.
    let (code, _, body) = get_bytes(&h, "/data/graph.HTTPStatus.cbuf");
    assert_eq!((code, body), (200, CBUF.as_bytes().to_vec()));

    let (code, content_type, body) = get_bytes(&h, "/data/heka_sandbox_termination.tsv");
    assert_eq!(code, 200);
    assert!(content_type.starts_with("text/tab-separated-values"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.ends_with("\tgraph\tinstruction_limit exceeded\n"),
        "{text:?}"
    );
}
