//! `--junit FILE`: the reports as JUnit XML (one `<testsuite>` per spec, one
//! `<testcase>` per case; a failing case holds a `<failure>` with its diff, a spec that
//! cannot run a `<testcase name="(spec)">` with an `<error>`), the form CI systems read.

use std::fmt::Write as _;

use super::{CaseReport, SpecReport};

/// The XML document for `reports`.
pub fn junit_xml(reports: &[SpecReport]) -> String {
    let (mut tests, mut failures, mut errors, mut time) = (0, 0, 0, 0.0);
    let mut body = String::new();
    for r in reports {
        let suite = escape(&r.path.display().to_string());
        let secs = r.elapsed.as_secs_f64();
        time += secs;
        match &r.outcome {
            Err(e) => {
                tests += 1;
                errors += 1;
                let text = escape(&e.to_string());
                let _ = write!(
                    body,
                    "  <testsuite name=\"{suite}\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"{secs:.3}\">\n    \
                     <testcase name=\"(spec)\" classname=\"{suite}\" time=\"{secs:.3}\">\n      \
                     <error message=\"bad spec\">{text}</error>\n    </testcase>\n  </testsuite>\n"
                );
            }
            Ok(cases) => {
                let failed = cases.iter().filter(|c| !c.problems.is_empty()).count();
                tests += cases.len();
                failures += failed;
                let _ = writeln!(
                    body,
                    "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{secs:.3}\">",
                    cases.len()
                );
                for c in cases {
                    case_xml(&mut body, &suite, c);
                }
                body.push_str("  </testsuite>\n");
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hekad test\" tests=\"{tests}\" \
         failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">\n{body}</testsuites>\n"
    )
}

fn case_xml(body: &mut String, suite: &str, c: &CaseReport) {
    let name = escape(&c.name);
    let secs = c.elapsed.as_secs_f64();
    let _ = write!(
        body,
        "    <testcase name=\"{name}\" classname=\"{suite}\" time=\"{secs:.3}\">"
    );
    if !c.problems.is_empty() {
        let first = escape(c.problems[0].lines().next().unwrap_or_default());
        let text = escape(&c.problems.join("\n"));
        let _ = write!(
            body,
            "\n      <failure message=\"{first}\">{text}</failure>\n    "
        );
    }
    if let Some(note) = c.figures_note() {
        let _ = write!(body, "<system-out>{}</system-out>", escape(&note));
    }
    body.push_str("</testcase>\n");
}

/// XML text and attribute escaping; characters XML 1.0 cannot hold become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}"
        );
    }
}
