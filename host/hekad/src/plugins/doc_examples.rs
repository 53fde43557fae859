//! Every ```` ```toml ```` example in a plugin's module doc (`plugins/**.rs`, and the
//! guest plugins' crate docs) is a configuration a user may paste: each one is loaded
//! and assembled here, so a renamed key or a wrong default in a doc fails a test.
//!
//! An example is a fragment: a reference to a plugin it does not define (its
//! `encoder = "SlackEncoder"`) is the only problem allowed. Files are found in the
//! built guests (`target/guest-plugins`) or, for `.lua` scripts, in `config/`.

use std::path::{Path, PathBuf};

use crate::assemble::load_and_assemble_with_env;
use crate::config::ErrorKind;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The ```` ```toml ```` blocks of a file's `//!` doc, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(doc) = line.trim_start().strip_prefix("//!") else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match &mut current {
            None if doc.trim() == "```toml" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if doc.trim() == "```" => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(doc);
                body.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn every_toml_example_in_plugin_docs_assembles() {
    let ws = workspace();
    let mut files = Vec::new();
    rust_files(&ws.join("host/hekad/src/plugins"), &mut files);
    for guest in heka_guest_build::GUESTS.iter().filter(|g| !g.testing) {
        files.push(ws.join("guest-plugins").join(guest.name).join("src/lib.rs"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("hekad.toml");
    let env = |name: &str| {
        (name == "SLACK_WEBHOOK_URL").then(|| "https://hooks.slack.com/services/T/B/x".to_owned())
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (line, block) in toml_blocks(&text) {
            let share = if block.contains(".lua\"") {
                ws.join("config")
            } else {
                PathBuf::from(heka_guest_build::PLUGINS_DIR)
            };
            let head = format!(
                "[hekad]\nbase_dir = {:?}\nshare_dir = {:?}\n\n",
                dir.path().display().to_string(),
                share.display().to_string()
            );
            std::fs::write(&config, format!("{head}{block}")).expect("write config");
            checked += 1;
            let Err(errors) = load_and_assemble_with_env(&config, &env) else {
                continue;
            };
            for e in errors.0 {
                if !matches!(*e.kind, ErrorKind::MissingReference { .. }) {
                    failures.push(format!("{}:{line}: {e}", file.display()));
                }
            }
        }
    }
    assert!(checked >= 15, "only {checked} examples found");
    assert!(
        failures.is_empty(),
        "doc examples that do not assemble:\n{}",
        failures.join("\n")
    );
}
