//! StdinInput -> FileOutput (PayloadEncoder): lines piped into hekad come out of the
//! file; at end of input hekad drains and exits 0 on its own.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use heka_e2e::{hekad_bin, wait_for, write};

#[test]
fn piped_lines_reach_the_file_and_hekad_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lines.log");
    let cfg = write(
        dir.path(),
        "hekad.toml",
        &format!(
            r#"
[hekad]
base_dir = "{base}"

[StdinInput]

[lines]
type = "FileOutput"
message_matcher = "Logger == 'StdinInput'"
path = "{out}"
encoder = "PayloadEncoder"

[PayloadEncoder]
append_newlines = false
"#,
            base = dir.path().display(),
            out = out.display()
        ),
    );
    let mut child = Command::new(hekad_bin())
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: String = (0..100).map(|i| format!("line {i}\n")).collect();
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(lines.as_bytes()).unwrap();
        // Dropping stdin closes the pipe: end of input.
    }
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("hekad did not exit at end of stdin");
    });
    assert_eq!(status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), lines);
}
