//! Heka's Lua sandbox modules through the real hekad: a graph filter on
//! `circular_buffer` whose `cbuf` output is Heka's text byte for byte and whose
//! buffer survives a restart with `preserve_data`; modules loaded from
//! `module_directory`.

use std::path::Path;
use std::time::Duration;

use heka_e2e::{Daemon, free_port, wait_for, write};
use heka_message::{Message, Value};

use crate::tcp_to_file::{connect, read_back, send};

/// A minute boundary (1700000040 = 60 × 28333334).
const MINUTE: i64 = 1_700_000_040;

fn graph_config(dir: &Path, port: u16, out: &Path) -> std::path::PathBuf {
    let share = dir.join("share");
    std::fs::create_dir_all(&share).expect("share dir");
    write(
        &share,
        "http_status_graph.lua",
        include_str!("lua/http_status_graph.lua"),
    );
    // No module_directory in the section: Heka's default, <share_dir>/lua_modules.
    std::fs::create_dir_all(share.join("lua_modules")).expect("lua_modules");
    write(
        &share.join("lua_modules"),
        "http_class.lua",
        include_str!("lua/lua_modules/http_class.lua"),
    );
    write(
        dir,
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{base}"
share_dir = "{share}"

[tcp]
type = "TcpInput"
address = "127.0.0.1:{port}"

[HttpStatus]
type = "SandboxFilter"
filename = "http_status_graph.lua"
message_matcher = "Type == 'nginx.access'"
ticker_interval = 1
preserve_data = true
[HttpStatus.config]
rows = 3
sec_per_row = 60

[graphs]
type = "FileOutput"
message_matcher = "Type == 'heka.sandbox-output'"
path = "{out}"
encoder = "ProtobufEncoder"
use_framing = true
flush_interval = 0
"#,
            base = dir.join("base").display(),
            share = share.display(),
            out = out.display()
        ),
    )
}

/// An access-log message at `second` with HTTP status `status`.
fn hit(i: usize, second: i64, status: i64) -> Message {
    let mut m = Message {
        uuid: (0..16).map(|b| b as u8 ^ i as u8).collect(),
        timestamp: second * 1_000_000_000 + 123,
        r#type: Some("nginx.access".into()),
        logger: Some("e2e".into()),
        ..Default::default()
    };
    m.add_field("status", Value::Integer(status), "");
    m
}

const HEADER_TAIL: &str = "\"rows\":3,\"columns\":5,\"seconds_per_row\":60,\"column_info\":[\
{\"name\":\"HTTP_200\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"HTTP_300\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"HTTP_400\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"HTTP_500\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"HTTP_UNKNOWN\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}\n";

/// Waits for a graph output whose payload is `expected`; checks its fields.
fn wait_for_graph(daemon: &Daemon, out: &Path, expected: &str) {
    let found = wait_for(Duration::from_secs(30), || {
        read_back(out)
            .into_iter()
            .rev()
            .find(|m| m.payload() == expected.as_bytes())
    });
    let Some(m) = found else {
        let last = read_back(out).last().map(|m| m.payload().to_owned());
        panic!(
            "no cbuf output equal to\n{expected}\nlast: {last:?}\nlog:\n{}",
            daemon.log_text()
        );
    };
    assert_eq!(m.logger(), "HttpStatus");
    assert_eq!(
        m.field_value("payload_type", 0, 0),
        Some(heka_message::FieldValue::String(b"cbuf"))
    );
    assert_eq!(
        m.field_value("payload_name", 0, 0),
        Some(heka_message::FieldValue::String(b"HTTP Status"))
    );
}

#[test]
fn cbuf_graph_is_heka_s_text_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let out = dir.path().join("graphs.log");
    let cfg = graph_config(dir.path(), port, &out);

    let mut daemon = Daemon::start(&cfg, dir.path());
    let mut stream = connect(port);
    let first: Vec<Message> = [
        (5, 200),
        (7, 200),
        (30, 404),
        (65, 200),
        (66, 500),
        (119, 302),
        (130, 200),
        (131, 204),
        (150, 299),
        (170, 503),
        (175, 999),
    ]
    .iter()
    .enumerate()
    .map(|(i, (s, code))| hit(i, MINUTE + s, *code))
    .collect();
    send(&mut stream, &first);
    drop(stream);
    // Rows oldest first; a cell never written is `nan`, as Heka printed it.
    wait_for_graph(
        &daemon,
        &out,
        &format!(
            "{{\"time\":{MINUTE},{HEADER_TAIL}\
             2\tnan\t1\tnan\tnan\n\
             1\t1\tnan\t1\tnan\n\
             3\tnan\tnan\t1\t1\n"
        ),
    );
    daemon.stop_clean();
    let data = dir.path().join("base/sandbox_preservation/HttpStatus.data");
    let text = std::fs::read_to_string(&data).expect("preservation file");
    assert!(
        text.contains("_G[\"status\"] = circular_buffer.new(3, 5, 60) end\n"),
        "{text}"
    );

    // The second run starts from the saved buffer: one more minute moves the
    // window by one row, the two newer rows of the first run stay.
    let mut daemon = Daemon::start(&cfg, dir.path());
    let mut stream = connect(port);
    send(&mut stream, &[hit(20, MINUTE + 185, 404)]);
    drop(stream);
    wait_for_graph(
        &daemon,
        &out,
        &format!(
            "{{\"time\":{},{HEADER_TAIL}\
             1\t1\tnan\t1\tnan\n\
             3\tnan\tnan\t1\t1\n\
             nan\tnan\t1\tnan\tnan\n",
            MINUTE + 60
        ),
    );
    daemon.stop_clean();
}

/// Two nginx access lines in the default `combined` format and one that is not.
const ACCESS_LOG: &str = "\
192.168.1.20 - - [10/Oct/2023:13:55:36 +0200] \"GET /index.html HTTP/1.1\" 200 2326 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"
not an access log line
10.0.0.7 - alice [31/Dec/2023:23:59:59 -0500] \"POST /api/v1/items?id=7 HTTP/2.0\" 503 0 \"https://example.com/\" \"curl/8.4.0\"
";

fn decoder_config(dir: &Path, out: &Path) -> std::path::PathBuf {
    let share = dir.join("share");
    let modules = dir.join("modules/weblog");
    std::fs::create_dir_all(&modules).expect("module dir");
    std::fs::create_dir_all(&share).expect("share dir");
    write(
        &share,
        "nginx_access.lua",
        include_str!("lua/nginx_access.lua"),
    );
    write(
        &modules,
        "clf.lua",
        include_str!("lua/modules/weblog/clf.lua"),
    );
    write(
        &modules,
        "time.lua",
        include_str!("lua/modules/weblog/time.lua"),
    );
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    write(&logs, "access.log", ACCESS_LOG);
    write(
        dir,
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{base}"
share_dir = "{share}"

[access]
type = "LogstreamerInput"
log_directory = "{logs}"
file_match = 'access\.log'
decoder = "NginxAccess"

[NginxAccess]
type = "SandboxDecoder"
filename = "nginx_access.lua"
module_directory = "{modules}"
[NginxAccess.config]
type = "nginx.access"
log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'

[decoded]
type = "FileOutput"
message_matcher = "Type == 'nginx.access'"
path = "{out}"
encoder = "ProtobufEncoder"
use_framing = true
flush_interval = 0
"#,
            base = dir.join("base").display(),
            share = share.display(),
            logs = logs.display(),
            modules = dir.join("modules").display(),
            out = out.display()
        ),
    )
}

/// What Heka made of one line with this decoder: every Lua number a double,
/// `{value=..., representation=...}` tables as fields with a representation.
fn heka_fields(m: &Message) -> Vec<(String, String, String)> {
    let mut fields: Vec<_> = m
        .fields
        .iter()
        .map(|f| {
            let value = match f.value(0) {
                Some(heka_message::FieldValue::String(s)) => {
                    format!("string:{}", String::from_utf8_lossy(s))
                }
                Some(heka_message::FieldValue::Double(d)) => format!("double:{d}"),
                other => format!("{other:?}"),
            };
            (f.name.clone(), value, f.representation().to_owned())
        })
        .collect();
    fields.sort();
    fields
}

fn expect(pairs: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(n, v, r)| (n.to_string(), v.to_string(), r.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn nginx_decoder_on_lpeg_and_module_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("decoded.log");
    let cfg = decoder_config(dir.path(), &out);
    let mut daemon = Daemon::start(&cfg, dir.path());
    let got = wait_for(Duration::from_secs(30), || {
        let got = read_back(&out);
        (got.len() >= 2).then_some(got)
    })
    .unwrap_or_else(|| panic!("no decoded messages; log:\n{}", daemon.log_text()));
    daemon.stop_clean();
    assert_eq!(got.len(), 2, "the line that does not parse is dropped");
    // 2023-10-10T13:55:36+02:00 and 2023-12-31T23:59:59-05:00.
    assert_eq!(got[0].timestamp, 1_696_938_936_000_000_000);
    assert_eq!(got[1].timestamp, 1_704_085_199_000_000_000);
    for m in &got {
        assert_eq!(m.type_(), "nginx.access");
        assert_eq!(m.logger(), "access");
        assert_eq!(
            m.severity(),
            7,
            "Heka's default severity, copied from the input"
        );
    }
    assert_eq!(
        heka_fields(&got[0]),
        expect(&[
            ("remote_addr", "string:192.168.1.20", "ipv4"),
            ("request_method", "string:GET", ""),
            ("request_uri", "string:/index.html", ""),
            ("request_protocol", "string:HTTP/1.1", ""),
            ("status", "double:200", ""),
            ("body_bytes_sent", "double:2326", "B"),
            (
                "http_user_agent",
                "string:Mozilla/5.0 (X11; Linux x86_64)",
                ""
            ),
        ])
    );
    assert_eq!(
        heka_fields(&got[1]),
        expect(&[
            ("remote_addr", "string:10.0.0.7", "ipv4"),
            ("remote_user", "string:alice", ""),
            ("request_method", "string:POST", ""),
            ("request_uri", "string:/api/v1/items?id=7", ""),
            ("request_protocol", "string:HTTP/2.0", ""),
            ("status", "double:503", ""),
            ("body_bytes_sent", "double:0", "B"),
            ("http_referer", "string:https://example.com/", ""),
            ("http_user_agent", "string:curl/8.4.0", ""),
        ])
    );
}
