//! heka-lpeg against C LPeg on the same grammars and lines: runs
//! `bench/lpeg/bench.lua` in mlua's Lua 5.1 with our `lpeg`/`re`, then (when installed)
//! in `lua5.1` with Debian's `lua-lpeg`, and prints ns/line for both and their ratio.
//! Each side times itself inside Lua with `os.clock`, so only matching and capture
//! building are measured, not start-up. The checksums of both sides must agree.
//!
//! `cargo bench -p heka-lpeg --bench lpeg_vs_c [-- LINES]` (default 100,000 lines).
//! Without `lua5.1` it says so and prints only our figures.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use mlua::{Lua, Table, Value};

/// (case, ns/line, checksum) rows printed by the script.
fn parse(out: &str) -> Vec<(String, f64, String)> {
    out.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((
                it.next()?.to_owned(),
                it.next()?.parse().ok()?,
                it.next()?.to_owned(),
            ))
        })
        .collect()
}

fn ours(script: &Path, lines: usize) -> mlua::Result<String> {
    let lua = Lua::new();
    let loaded: Table = lua.globals().get::<Table>("package")?.get("loaded")?;
    loaded.set("lpeg", heka_lpeg::open_lpeg(&lua)?)?;
    loaded.set("re", heka_lpeg::open_re(&lua)?)?;
    lua.globals().set("BENCH_LINES", lines)?;
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    lua.globals().set(
        "print",
        lua.create_function(move |_, args: mlua::Variadic<Value>| {
            let line: Vec<String> = args
                .iter()
                .map(|v| v.to_string().unwrap_or_default())
                .collect();
            if let Ok(mut o) = sink.lock() {
                o.push_str(&line.join("\t"));
                o.push('\n');
            }
            Ok(())
        })?,
    )?;
    let source = std::fs::read(script).map_err(mlua::Error::external)?;
    lua.load(source).set_name("@bench/lpeg/bench.lua").exec()?;
    let text = out.lock().map(|o| o.clone()).unwrap_or_default();
    Ok(text)
}

fn c_lpeg(script: &Path, lines: usize) -> Option<String> {
    let out = Command::new("lua5.1")
        .arg(script)
        .arg(lines.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("lua5.1 failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    let lines = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(100_000);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/lpeg/bench.lua");
    let rust = match ours(&script, lines) {
        Ok(out) => parse(&out),
        Err(e) => {
            eprintln!("heka-lpeg run failed: {e}");
            std::process::exit(1);
        }
    };
    let c = c_lpeg(&script, lines).map(|o| parse(&o));
    if c.is_none() {
        println!("C LPeg not found (apt-get install -y lua5.1 lua-lpeg): heka-lpeg only");
    }
    println!("{lines} lines; ns/line (os.clock inside Lua)");
    println!(
        "{:<10} {:>12} {:>12} {:>8}",
        "case", "heka-lpeg", "C LPeg", "ratio"
    );
    let mut mismatch = false;
    for (name, ns, sum) in &rust {
        match c
            .as_ref()
            .and_then(|c| c.iter().find(|(n, _, _)| n == name))
        {
            Some((_, cns, csum)) => {
                println!("{name:<10} {ns:>12.1} {cns:>12.1} {:>8.2}", ns / cns);
                if csum != sum {
                    eprintln!("{name}: checksum {sum} differs from C LPeg's {csum}");
                    mismatch = true;
                }
            }
            None => println!("{name:<10} {ns:>12.1} {:>12} {:>8}", "-", "-"),
        }
    }
    if mismatch {
        std::process::exit(1);
    }
}
