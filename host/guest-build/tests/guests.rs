//! Checks over the generated guest list: every guest is built, and every guest is
//! loaded by some test (wasmtime's `assert_test_exists` idea, applied to the test
//! sources: a guest nobody loads is untested code shipped in the workspace).

use std::path::{Path, PathBuf};

use heka_guest_build::{GUESTS, SOURCE_DIR, foreach_guest_plugin};

fn workspace() -> PathBuf {
    Path::new(SOURCE_DIR)
        .parent()
        .expect("guest-plugins lives in the workspace root")
        .to_path_buf()
}

/// Every `.rs` file under a `tests` directory of a workspace crate.
fn test_sources() -> Vec<(PathBuf, String)> {
    let ws = workspace();
    let mut roots: Vec<PathBuf> = vec![ws.join("tests/tests")];
    for entry in std::fs::read_dir(ws.join("host")).expect("list host/") {
        roots.push(entry.expect("host/ entry").path().join("tests"));
    }
    let mut files = Vec::new();
    while let Some(dir) = roots.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // a crate without tests/
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                roots.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read test source");
                files.push((path, text));
            }
        }
    }
    files
}

/// Guests known to have no test yet, each with why. The test fails when one of these
/// gains a test (take it off the list) as well as when any other guest has none.
const NOT_YET_TESTED: &[(&str, &str)] = &[];

#[test]
fn every_guest_has_a_test() {
    let sources = test_sources();
    assert!(
        !sources.is_empty(),
        "no test sources found under {}",
        workspace().display()
    );
    let mut untested = Vec::new();
    let mut check = |ident: &str, name: &str, testing: bool| {
        let accessor = if testing {
            format!("testing::{ident}()")
        } else {
            format!("heka_guest_build::{ident}()")
        };
        let calls = [accessor, format!("plugin_path({name:?})")];
        let used = sources
            .iter()
            .any(|(_, text)| calls.iter().any(|c| text.contains(c.as_str())));
        let excused = NOT_YET_TESTED.iter().any(|(n, _)| *n == name);
        if !used && !excused {
            untested.push(format!("{name} (no test calls {})", calls.join(" or ")));
        }
        if used && excused {
            untested.push(format!(
                "{name} has a test now: remove it from NOT_YET_TESTED"
            ));
        }
    };
    macro_rules! assert_guest_tested {
        ($ident:ident, $name:literal, $testing:literal) => {
            check(stringify!($ident), $name, $testing);
        };
    }
    foreach_guest_plugin!(assert_guest_tested);
    assert!(
        untested.is_empty(),
        "guests without a test: {untested:?}; load each from a test under host/*/tests or tests/tests"
    );
}

#[test]
fn every_guest_is_built() {
    if std::env::var_os("HEKA_SKIP_GUEST_BUILD").is_some() {
        return; // nothing was built on purpose
    }
    assert!(GUESTS.len() >= 12, "{GUESTS:?}");
    for g in GUESTS {
        assert!(g.path().is_file(), "{} missing", g.path().display());
    }
    assert_eq!(heka_guest_build::log_aggregator(), GUESTS[0].path());
    assert_eq!(
        heka_guest_build::testing::panic(),
        heka_guest_build::plugin_path("panic")
    );
}
