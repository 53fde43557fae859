//! The diff on real configuration files: each case changes one thing and checks
//! which plugins are kept, added, removed, replaced and carry their state.

use std::path::Path;

use super::{Fingerprints, Plan};

/// Input `tcp`, filters `count` (Lua sandbox) and `native` (CounterFilter), output
/// `out` with the encoder `enc`; `extra` is appended.
fn base(dir: &Path, extra: &str) -> String {
    format!(
        r#"
[hekad]
share_dir = "{dir}"
ops_address = "127.0.0.1:4352"

[tcp]
type = "TcpInput"
address = "127.0.0.1:5565"

[count]
type = "SandboxFilter"
message_matcher = "TRUE"
filename = "count.lua"
ticker_interval = 1

[native]
type = "CounterFilter"
message_matcher = "TRUE"

[enc]
type = "PayloadEncoder"

[out]
type = "FileOutput"
message_matcher = "Logger == 'tcp'"
path = "{dir}/out.txt"
encoder = "enc"
{extra}
"#,
        dir = dir.display()
    )
}

fn fingerprints(dir: &Path, text: &str) -> Fingerprints {
    let path = dir.join("hekad.toml");
    std::fs::write(&path, text).unwrap();
    let config = crate::config::load(&path).unwrap();
    Fingerprints::of(&config)
}

/// The plan from `old` to `new` (configuration texts), with `between` run in between
/// (to change a plugin file).
fn plan(old: &str, new: &str, between: impl FnOnce(&Path)) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("count.lua"), "n = 0\n").unwrap();
    let running = fingerprints(dir.path(), &base(dir.path(), old));
    between(dir.path());
    let next = fingerprints(dir.path(), &base(dir.path(), new));
    running.plan(&next)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_same_configuration_keeps_everything() {
    let plan = plan("", "", |_| {});
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.kept, names(&["count", "native", "out", "tcp"]));
    assert_eq!(plan.full_restart, None);
}

#[test]
fn a_changed_option_replaces_that_plugin_only() {
    let plan = plan("", "[native.config]\nx = 1\n", |_| {});
    assert_eq!(plan.replaced, names(&["native"]));
    assert!(plan.carried.is_empty(), "a native filter carries no state");
    assert_eq!(plan.kept, names(&["count", "out", "tcp"]));
}

#[test]
fn a_changed_script_file_replaces_the_sandbox_and_carries_its_state() {
    let plan = plan("", "", |dir| {
        std::fs::write(dir.join("count.lua"), "n = 0 -- v2\n").unwrap();
    });
    assert_eq!(plan.replaced, names(&["count"]));
    assert_eq!(plan.carried, names(&["count"]));
    assert_eq!(plan.kept, names(&["native", "out", "tcp"]));
}

#[test]
fn a_changed_lua_module_replaces_the_lua_sandboxes_only() {
    // The default module_directory, `<share_dir>/lua_modules`, with a dotted module.
    let plan = plan("", "", |dir| {
        std::fs::create_dir_all(dir.join("lua_modules/heka")).unwrap();
        std::fs::write(dir.join("lua_modules/heka/util.lua"), "return {}\n").unwrap();
    });
    assert_eq!(plan.replaced, names(&["count"]));
    assert_eq!(plan.carried, names(&["count"]));
    assert_eq!(plan.kept, names(&["native", "out", "tcp"]));
}

#[test]
fn a_sandbox_module_directory_is_looked_at_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("count.lua"), "n = 0\n").unwrap();
    std::fs::create_dir_all(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine/m.lua"), "return 1\n").unwrap();
    let text = base(dir.path(), "").replace(
        "filename = \"count.lua\"",
        "filename = \"count.lua\"\nmodule_directory = \"mine\"",
    );
    let running = fingerprints(dir.path(), &text);
    // The default directory is not this sandbox's: a change there keeps it.
    std::fs::create_dir_all(dir.path().join("lua_modules")).unwrap();
    std::fs::write(dir.path().join("lua_modules/m.lua"), "return 2\n").unwrap();
    let plan = running.plan(&fingerprints(dir.path(), &text));
    assert!(plan.is_empty(), "{plan:?}");
    // Its own directory is.
    std::fs::write(dir.path().join("mine/m.lua"), "return 3\n").unwrap();
    let plan = running.plan(&fingerprints(dir.path(), &text));
    assert_eq!(plan.replaced, names(&["count"]));
}

#[test]
fn a_changed_tls_file_replaces_the_plugin_that_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("count.lua"), "n = 0\n").unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "one").unwrap();
    let extra = format!("[tcp.tls]\ncert_file = \"{}\"\n", cert.display());
    let text = base(dir.path(), &extra);
    let running = fingerprints(dir.path(), &text);
    assert!(running.plan(&fingerprints(dir.path(), &text)).is_empty());
    std::fs::write(&cert, "two").unwrap();
    let plan = running.plan(&fingerprints(dir.path(), &text));
    assert_eq!(plan.replaced, names(&["tcp"]));
    assert_eq!(plan.kept, names(&["count", "native", "out"]));
}

#[test]
fn a_changed_template_replaces_its_users() {
    // `enc` is a template: the output using it is replaced, nothing else.
    let dir = tempfile::tempdir().unwrap();
    let running = fingerprints(dir.path(), &base(dir.path(), ""));
    let text = base(dir.path(), "").replace(
        "type = \"PayloadEncoder\"",
        "type = \"PayloadEncoder\"\nappend_newlines = false",
    );
    let plan = running.plan(&fingerprints(dir.path(), &text));
    assert_eq!(plan.replaced, names(&["out"]));
    assert_eq!(plan.kept, names(&["count", "native", "tcp"]));
}

#[test]
fn added_and_removed_plugins() {
    let extra = "[out2]\ntype = \"LogOutput\"\nmessage_matcher = \"TRUE\"\n";
    let added = plan("", extra, |_| {});
    assert_eq!(added.added, names(&["out2"]));
    assert!(added.removed.is_empty() && added.replaced.is_empty());
    let removed = plan(extra, "", |_| {});
    assert_eq!(removed.removed, names(&["out2"]));
    assert!(removed.added.is_empty() && removed.replaced.is_empty());
}

#[test]
fn another_engine_or_type_is_replaced_without_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let running = fingerprints(dir.path(), &base(dir.path(), ""));
    let wasm = base(dir.path(), "").replace("count.lua", "count.wasm");
    let plan = running.plan(&fingerprints(dir.path(), &wasm));
    assert_eq!(plan.replaced, names(&["count"]));
    assert!(
        plan.carried.is_empty(),
        "Lua state cannot go to a wasm guest"
    );
}

#[test]
fn hekad_settings_force_a_full_restart_but_the_ops_keys_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let text = base(dir.path(), "");
    let running = fingerprints(dir.path(), &text);
    let ops = text.replace("127.0.0.1:4352", "127.0.0.1:4353");
    assert_eq!(
        running.plan(&fingerprints(dir.path(), &ops)).full_restart,
        None
    );
    let chansize = text.replace("[hekad]\n", "[hekad]\nplugin_chansize = 7\n");
    let plan = running.plan(&fingerprints(dir.path(), &chansize));
    assert!(plan.full_restart.is_some(), "{plan:?}");
}
