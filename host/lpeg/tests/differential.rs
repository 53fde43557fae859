//! Differential test against C LPeg: 1,000 random patterns (every operator, the common
//! captures, small grammars) over random subjects, run by `differential/random_patterns.lua`;
//! the answers C LPeg 1.0.2 gave for the same script are recorded in
//! `differential/c_lpeg_1.0.2.txt` (how to regenerate: the script's header).

mod common;

use std::sync::{Arc, Mutex};

#[test]
fn random_patterns_match_as_c_lpeg_does() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let expected = std::fs::read_to_string(dir.join("c_lpeg_1.0.2.txt")).expect("golden file");
    let script = std::fs::read(dir.join("random_patterns.lua")).expect("script");
    let lua = common::state();
    let loaded: mlua::Table = lua
        .globals()
        .get::<mlua::Table>("package")
        .and_then(|p| p.get("loaded"))
        .expect("package.loaded");
    loaded
        .set(
            "lpeg",
            lua.globals().get::<mlua::Value>("lpeg").expect("lpeg"),
        )
        .expect("set");
    lua.globals().set("FUZZ_SEED", 23).expect("seed");
    lua.globals().set("FUZZ_CASES", 1000).expect("cases");
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    let print = lua
        .create_function(move |_, args: mlua::Variadic<mlua::Value>| {
            let parts: Vec<String> = args
                .iter()
                .map(|v| v.to_string().unwrap_or_default())
                .collect();
            let mut o = sink.lock().expect("sink");
            o.push_str(&parts.join("\t"));
            o.push('\n');
            Ok(())
        })
        .expect("print");
    lua.globals().set("print", print).expect("set print");
    lua.load(script).exec().expect("script runs");
    let got = out.lock().expect("out").clone();
    let mut differences = 0;
    for (e, g) in expected.lines().zip(got.lines()) {
        if e != g {
            differences += 1;
            eprintln!("C LPeg: {e}\nours:   {g}");
        }
    }
    assert_eq!(expected.lines().count(), got.lines().count(), "line counts");
    assert_eq!(differences, 0, "patterns answering differently from C LPeg");
}
