//! Comparing what a plugin produced with what a case expects, as readable diffs:
//! one line per header or field that differs (`Payload: expected …, actual …`), a
//! line diff for multi-line payloads, the JSON paths that differ for `json`, and
//! golden files compared byte for byte (rewritten by `--bless`).
//!
//! Every function returns problems as text; an empty list is a pass.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use heka_message::{FieldValue, Message, message_to_json};

use super::live::Request;
use super::spec::{Case, Expect};
use super::subject::{Output, Tally};

/// What checking found, and which golden files `--bless` wrote.
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub blessed: Vec<PathBuf>,
}

/// Checks everything `case` asserts about `outputs`, `tally` and the sandbox figures.
pub fn check_case(
    case: &Case,
    outputs: &[Output],
    tally: &Tally,
    figures: Option<(u64, f64)>,
    bless: bool,
) -> Findings {
    let mut f = Findings::default();
    check_termination(case, tally, &mut f.problems);
    if tally.failures.len() as u64 != case.failures {
        let mut p = format!(
            "failed messages: expected {}, actual {}",
            case.failures,
            tally.failures.len()
        );
        for reason in &tally.failures {
            let _ = write!(p, "\n    {reason}");
        }
        f.problems.push(p);
    }
    if let Some(n) = case.count
        && outputs.len() != n
    {
        f.problems.push(format!(
            "output count: expected {n}, actual {}",
            outputs.len()
        ));
    }
    if let Some(expect) = &case.expect {
        check_list(expect, outputs, bless, &mut f);
    }
    if let Some(golden) = &case.golden {
        let all = golden_text(outputs);
        compare_golden(golden, &all, bless, "all outputs", &mut f);
    }
    if let Some((memory, budget)) = figures {
        if let Some(max) = case.max_memory
            && memory > max
        {
            f.problems.push(format!(
                "peak memory: {memory} bytes, over max_memory = {max}"
            ));
        }
        if let Some(max) = case.max_budget_ratio
            && budget > max
        {
            f.problems.push(format!(
                "worst call used {budget:.3} of its budget, over max_budget_ratio = {max}"
            ));
        }
    }
    f
}

fn check_termination(case: &Case, tally: &Tally, problems: &mut Vec<String>) {
    match (&case.terminated, &tally.terminated) {
        (None, None) => {}
        (None, Some(reason)) => problems.push(format!("terminated: {reason}")),
        (Some(want), None) => problems.push(format!(
            "expected a termination with a reason containing {want:?}; the plugin ran on"
        )),
        (Some(want), Some(reason)) if !reason.contains(want.as_str()) => problems.push(format!(
            "terminated with {reason:?}, expected a reason containing {want:?}"
        )),
        (Some(_), Some(_)) => {}
    }
}

fn check_list(expect: &[Expect], outputs: &[Output], bless: bool, f: &mut Findings) {
    if expect.len() != outputs.len() {
        f.problems.push(format!(
            "outputs: expected {}, actual {}",
            expect.len(),
            outputs.len()
        ));
    }
    for (i, (e, out)) in expect.iter().zip(outputs).enumerate() {
        let mut diffs = Vec::new();
        match out {
            Output::Message(m) => check_message(e, m, &mut diffs),
            Output::Bytes(b) => check_bytes(e, b, "output", &mut diffs),
            Output::Request(r) => check_request(e, r, &mut diffs),
        }
        if let Some(golden) = &e.golden_path {
            let bytes = match out {
                Output::Message(m) => m.payload(),
                Output::Bytes(b) => b.as_slice(),
                Output::Request(r) => r.body.as_slice(),
            };
            compare_golden(golden, bytes, bless, &format!("output {i}"), f);
        }
        if !diffs.is_empty() {
            f.problems.push(format!(
                "output {i} ({}):\n    {}",
                describe(out),
                diffs.join("\n    ")
            ));
        }
    }
    for (i, out) in outputs.iter().enumerate().skip(expect.len()) {
        f.problems
            .push(format!("output {i} not expected: {}", render(out)));
    }
    for i in outputs.len()..expect.len() {
        f.problems
            .push(format!("output {i} expected, none produced"));
    }
}

fn check_message(e: &Expect, m: &Message, diffs: &mut Vec<String>) {
    text_header("Type", e.msg_type.as_deref(), m.r#type.as_deref(), diffs);
    text_header("Logger", e.logger.as_deref(), m.logger.as_deref(), diffs);
    text_header(
        "Hostname",
        e.hostname.as_deref(),
        m.hostname.as_deref(),
        diffs,
    );
    text_header(
        "EnvVersion",
        e.env_version.as_deref(),
        m.env_version.as_deref(),
        diffs,
    );
    number_header(
        "Severity",
        e.severity.map(i64::from),
        m.severity.map(i64::from),
        diffs,
    );
    number_header("Pid", e.pid.map(i64::from), m.pid.map(i64::from), diffs);
    number_header("Timestamp", e.timestamp, Some(m.timestamp), diffs);
    check_bytes(e, m.payload(), "Payload", diffs);
    for (name, want) in &e.fields {
        check_field(m, name, want, diffs);
    }
    if let Some(matcher) = &e.compiled
        && !matcher.matches(m)
    {
        diffs.push(format!(
            "does not match {:?}",
            e.matcher.as_deref().unwrap_or_default()
        ));
    }
}

fn text_header(name: &str, want: Option<&str>, got: Option<&str>, diffs: &mut Vec<String>) {
    if let Some(w) = want
        && got != Some(w)
    {
        diffs.push(format!(
            "{name}: expected {w:?}, actual {}",
            got.map_or("(unset)".into(), |g| format!("{g:?}"))
        ));
    }
}

fn number_header(name: &str, want: Option<i64>, got: Option<i64>, diffs: &mut Vec<String>) {
    if let Some(w) = want
        && got != Some(w)
    {
        diffs.push(format!(
            "{name}: expected {w}, actual {}",
            got.map_or("(unset)".into(), |g| g.to_string())
        ));
    }
}

/// An HTTP request: its method, path and headers (names in any case), its body as
/// [`check_bytes`] checks an encoder's output.
fn check_request(e: &Expect, r: &Request, diffs: &mut Vec<String>) {
    text_header("method", e.method.as_deref(), Some(&r.method), diffs);
    text_header("path", e.path.as_deref(), Some(&r.path), diffs);
    for (name, want) in &e.headers {
        let got: Vec<&str> = r
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if !got.contains(&want.as_str()) {
            diffs.push(format!("header {name}: expected {want:?}, actual {got:?}"));
        }
    }
    check_bytes(e, &r.body, "body", diffs);
}

/// `payload` (exact, with a line diff when it spans lines) and `json` (semantic).
fn check_bytes(e: &Expect, got: &[u8], what: &str, diffs: &mut Vec<String>) {
    if let Some(want) = &e.payload
        && want.as_bytes() != got
    {
        diffs.push(text_diff(what, want.as_bytes(), got));
    }
    if let Some(want) = &e.json_value {
        match serde_json::from_slice::<serde_json::Value>(got) {
            Err(err) => diffs.push(format!(
                "{what} is not JSON ({err}): {:?}",
                String::from_utf8_lossy(got)
            )),
            Ok(value) => json_diff("$", want, &value, what, diffs),
        }
    }
}

/// `expected`/`actual` on one line each, or a line diff for multi-line text.
pub fn text_diff(what: &str, want: &[u8], got: &[u8]) -> String {
    let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    if !w.contains('\n') && !g.contains('\n') {
        return format!("{what}:\n      expected {w:?}\n      actual   {g:?}");
    }
    let mut out = format!("{what} differs (- expected, + actual):");
    let (wl, gl): (Vec<&str>, Vec<&str>) = (
        w.split_inclusive('\n').collect(),
        g.split_inclusive('\n').collect(),
    );
    for (mark, line) in line_diff(&wl, &gl) {
        let _ = write!(out, "\n      {mark} {line:?}");
    }
    out
}

/// The lines of both sides marked ' ' (in both), '-' (expected only) or '+' (actual
/// only), by a longest-common-subsequence table; past `LCS_CELLS` (a bound on its
/// memory) the sides are compared line by line at the same positions instead.
pub(super) fn line_diff<'a>(want: &[&'a str], got: &[&'a str]) -> Vec<(char, &'a str)> {
    const LCS_CELLS: usize = 1 << 20;
    let (n, m) = (want.len(), got.len());
    let mut out = Vec::new();
    if (n + 1).saturating_mul(m + 1) > LCS_CELLS {
        for i in 0..n.max(m) {
            match (want.get(i), got.get(i)) {
                (Some(a), Some(b)) if a == b => out.push((' ', *a)),
                (a, b) => {
                    out.extend(a.map(|a| ('-', *a)));
                    out.extend(b.map(|b| ('+', *b)));
                }
            }
        }
        return out;
    }
    let at = |i: usize, j: usize| i * (m + 1) + j;
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[at(i, j)] = if want[i] == got[j] {
                t[at(i + 1, j + 1)] + 1
            } else {
                t[at(i + 1, j)].max(t[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && want[i] == got[j] {
            out.push((' ', want[i]));
            (i, j) = (i + 1, j + 1);
        } else if j == m || (i < n && t[at(i + 1, j)] >= t[at(i, j + 1)]) {
            out.push(('-', want[i]));
            i += 1;
        } else {
            out.push(('+', got[j]));
            j += 1;
        }
    }
    out
}

fn json_diff(
    path: &str,
    want: &serde_json::Value,
    got: &serde_json::Value,
    what: &str,
    diffs: &mut Vec<String>,
) {
    use serde_json::Value as J;
    match (want, got) {
        (J::Object(w), J::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => json_diff(&p, wv, gv, what, diffs),
                    None => diffs.push(format!("{what} JSON {p}: expected {wv}, actual missing")),
                }
            }
            for (k, gv) in g.iter().filter(|(k, _)| !w.contains_key(*k)) {
                diffs.push(format!("{what} JSON {path}.{k}: not expected, actual {gv}"));
            }
        }
        (J::Array(w), J::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                json_diff(&format!("{path}[{i}]"), wv, gv, what, diffs);
            }
        }
        // Numbers compare by value: 200 and 200.0 are the same JSON number.
        (J::Number(w), J::Number(g)) if w.as_f64() == g.as_f64() => {}
        (w, g) if w != g => diffs.push(format!("{what} JSON {path}: expected {w}, actual {g}")),
        _ => {}
    }
}

fn check_field(m: &Message, name: &str, want: &toml::Value, diffs: &mut Vec<String>) {
    let Some(field) = m.field(name, 0) else {
        diffs.push(format!("Fields[{name}]: expected {want}, actual missing"));
        return;
    };
    let wants: Vec<&toml::Value> = match want {
        toml::Value::Array(values) => values.iter().collect(),
        v => vec![v],
    };
    let got: Vec<FieldValue<'_>> = (0..field.len()).filter_map(|i| field.value(i)).collect();
    let same = wants.len() == got.len() && wants.iter().zip(&got).all(|(w, g)| value_eq(w, g));
    // A single expected value also matches the first of several.
    let first = wants.len() == 1 && got.first().is_some_and(|g| value_eq(wants[0], g));
    if !same && !first {
        let shown: Vec<String> = got.iter().map(show_value).collect();
        diffs.push(format!(
            "Fields[{name}]: expected {want}, actual [{}]",
            shown.join(", ")
        ));
    }
}

fn value_eq(want: &toml::Value, got: &FieldValue<'_>) -> bool {
    match (want, got) {
        (toml::Value::String(w), FieldValue::String(g) | FieldValue::Bytes(g)) => {
            w.as_bytes() == *g
        }
        (toml::Value::Integer(w), FieldValue::Integer(g)) => w == g,
        (toml::Value::Integer(w), FieldValue::Double(g)) => *w as f64 == *g,
        (toml::Value::Float(w), FieldValue::Double(g)) => w == g,
        (toml::Value::Boolean(w), FieldValue::Bool(g)) => w == g,
        _ => false,
    }
}

fn show_value(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::String(b) => format!("{:?}", String::from_utf8_lossy(b)),
        FieldValue::Bytes(b) => format!("bytes {:?}", String::from_utf8_lossy(b)),
        FieldValue::Integer(i) => i.to_string(),
        FieldValue::Double(d) => format!("{d:?}"),
        FieldValue::Bool(b) => b.to_string(),
    }
}

fn describe(out: &Output) -> String {
    match out {
        Output::Message(m) => format!("Type {:?}", m.type_()),
        Output::Bytes(b) => format!("{} bytes", b.len()),
        Output::Request(r) => format!("{} {}, {} bytes", r.method, r.path, r.body.len()),
    }
}

/// One output as a line: a message in the JSON form (Uuid, Timestamp and Pid left
/// out: they vary from run to run), bytes as an escaped string.
pub fn render(out: &Output) -> String {
    match out {
        Output::Message(m) => message_to_json(&normalized(m)),
        Output::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Output::Request(r) => format!(
            "{} {} {:?}",
            r.method,
            r.path,
            String::from_utf8_lossy(&r.body)
        ),
    }
}

fn normalized(m: &Message) -> Message {
    Message {
        uuid: Vec::new(),
        timestamp: 0,
        pid: None,
        ..m.clone()
    }
}

/// A case-level golden file: messages as JSON lines (see [`render`]); encoder
/// outputs concatenated, as an output would write them; HTTP request bodies one
/// after the other, each ended by a newline.
fn golden_text(outputs: &[Output]) -> Vec<u8> {
    let mut all = Vec::new();
    for out in outputs {
        match out {
            Output::Message(m) => {
                all.extend_from_slice(message_to_json(&normalized(m)).as_bytes());
                all.push(b'\n');
            }
            Output::Bytes(b) => all.extend_from_slice(b),
            Output::Request(r) => {
                all.extend_from_slice(&r.body);
                all.push(b'\n');
            }
        }
    }
    all
}

fn compare_golden(path: &Path, got: &[u8], bless: bool, what: &str, f: &mut Findings) {
    let current = std::fs::read(path).ok();
    if current.as_deref() == Some(got) {
        return;
    }
    if bless {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, got));
        match written {
            Ok(()) => f.blessed.push(path.to_path_buf()),
            Err(e) => f
                .problems
                .push(format!("cannot write golden file {}: {e}", path.display())),
        }
        return;
    }
    match current {
        None => f.problems.push(format!(
            "golden file {} for {what} is missing (run `hekad test --bless` to write it)",
            path.display()
        )),
        Some(want) => f.problems.push(format!(
            "{} (golden file {}; `hekad test --bless` rewrites it)",
            text_diff(what, &want, got),
            path.display()
        )),
    }
}
