//! Builds the guest plugins (`guest-plugins/`, a separate cargo workspace) for
//! `wasm32-wasip2` with a nested cargo, then copies each component to
//! `<workspace>/target/guest-plugins/<name>.wasm` where configs and tests find it.
//!
//! Why a nested cargo: the guests target another architecture with another profile
//! and lock file; cargo has no stable way to build a dependency for a second target.
//! The nested build has its own target dir (`target/guest`), so it never waits on the
//! outer build's lock. If the `wasm32-wasip2` target is missing it is installed once
//! with rustup (and we say so); a failure to do that is a clear error, not a mystery.
//!
//! The list of guests is not kept by hand: this script reads the members of
//! `guest-plugins/Cargo.toml` and writes `$OUT_DIR/guests.rs` (an accessor per guest,
//! the [`GUESTS`] table and the `foreach_guest_plugin!` macro), so adding a guest is
//! adding a member of the guest workspace. Members under `testing/` are test guests.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    if let Err(e) = run() {
        // A build-script error: cargo shows this text and stops.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let ws = manifest_dir.join("../..").canonicalize().map_err(|e| {
        format!(
            "cannot resolve the workspace root from {}: {e}",
            manifest_dir.display()
        )
    })?;
    let plugins = ws.join("guest-plugins");
    for p in [
        plugins.clone(),
        ws.join("guest-sdk/src"),
        ws.join("guest-sdk/wit"),
        ws.join("guest-sdk/Cargo.toml"),
        ws.join("host/message/src"),
        ws.join("host/message/Cargo.toml"),
    ] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-env-changed=HEKA_SKIP_GUEST_BUILD");
    let guests = guest_list(&plugins)?;
    write_generated(&guests)?;

    let out_dir = ws.join("target/guest-plugins");
    println!(
        "cargo:rustc-env=HEKA_GUEST_PLUGINS_DIR={}",
        out_dir.display()
    );
    println!(
        "cargo:rustc-env=HEKA_GUEST_SOURCE_DIR={}",
        plugins.display()
    );
    if std::env::var_os("HEKA_SKIP_GUEST_BUILD").is_some() {
        println!("cargo:warning=HEKA_SKIP_GUEST_BUILD set: guest plugins not rebuilt");
        return Ok(());
    }

    ensure_target()?;
    let built = build_guests(&plugins, &ws.join("target/guest"))?;
    copy_artifacts(&built, &out_dir)
}

/// Builds the guest workspace for [`TARGET`] with a nested cargo (release, its own
/// target dir); returns the directory holding the `.wasm` files.
fn build_guests(plugins: &Path, guest_target: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(guest_target);
    // The outer build's settings are for the host, not for the guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{cargo}` to build the guest plugins: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the guest plugins failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(guest_target.join(TARGET).join("release"))
}

/// Copies every `.wasm` under `built` to `out_dir`; an error when there is none.
fn copy_artifacts(built: &Path, out_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut copied = 0;
    let entries =
        std::fs::read_dir(built).map_err(|e| format!("cannot list {}: {e}", built.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            copy_artifact(&path, out_dir)?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(format!("no .wasm produced under {}", built.display()));
    }
    Ok(())
}

/// One member of the guest workspace.
struct GuestMember {
    /// The package name, which is also the artifact's name (`log-aggregator`).
    package: String,
    /// A member under `testing/`: a test guest, not a plugin users run.
    testing: bool,
    /// The first line of the crate's `//!` doc.
    summary: String,
}

/// The members of `guest-plugins/Cargo.toml`, in its order.
fn guest_list(plugins: &Path) -> Result<Vec<GuestMember>, String> {
    let manifest = plugins.join("Cargo.toml");
    let workspace = read_toml(&manifest)?;
    let members = workspace
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .ok_or_else(|| format!("{}: no [workspace] members list", manifest.display()))?;
    let mut out = Vec::new();
    for member in members {
        let member = member
            .as_str()
            .ok_or_else(|| format!("{}: a member is not a string", manifest.display()))?;
        let dir = plugins.join(member);
        let package = read_toml(&dir.join("Cargo.toml"))?
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("{}/Cargo.toml: no package name", dir.display()))?;
        let lib = dir.join("src/lib.rs");
        let text = std::fs::read_to_string(&lib)
            .map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
        let summary = text
            .lines()
            .find_map(|l| l.strip_prefix("//!"))
            .map(|l| l.trim().to_owned())
            .ok_or_else(|| format!("{}: no `//!` doc saying what the guest is", lib.display()))?;
        out.push(GuestMember {
            package,
            testing: member.starts_with("testing/"),
            summary,
        });
    }
    Ok(out)
}

fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `$OUT_DIR/guests.rs`: one accessor per guest (test guests in `testing`),
/// the `GUESTS` table and `foreach_guest_plugin!`.
fn write_generated(guests: &[GuestMember]) -> Result<(), String> {
    let ident = |g: &GuestMember| g.package.replace('-', "_");
    let accessor = |g: &GuestMember| {
        format!(
            "/// {}\npub fn {}() -> std::path::PathBuf {{\n    crate::plugin_path({:?})\n}}\n",
            g.summary.replace('\n', " "),
            ident(g),
            g.package
        )
    };
    let mut code = String::from(
        "// Generated by host/guest-build/build.rs from guest-plugins/Cargo.toml.\n\n",
    );
    for g in guests.iter().filter(|g| !g.testing) {
        code.push_str(&accessor(g));
    }
    code.push_str("\n/// Test guests (`guest-plugins/testing/`): every API function, and hostile plugins.\npub mod testing {\n");
    for g in guests.iter().filter(|g| g.testing) {
        code.push_str(&accessor(g));
    }
    code.push_str("}\n\n/// Every guest of the guest workspace, in its member order.\npub const GUESTS: &[Guest] = &[\n");
    for g in guests {
        code.push_str(&format!(
            "    Guest {{ name: {:?}, testing: {} }},\n",
            g.package, g.testing
        ));
    }
    code.push_str(
        "];\n\n/// Calls `$mac!(ident, \"package-name\", testing)` once per guest, e.g.\n\
         /// `$mac!(log_aggregator, \"log-aggregator\", false)`.\n#[macro_export]\nmacro_rules! foreach_guest_plugin {\n    ($mac:ident) => {\n",
    );
    for g in guests {
        code.push_str(&format!(
            "        $mac!({}, {:?}, {});\n",
            ident(g),
            g.package,
            g.testing
        ));
    }
    code.push_str("    };\n}\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("guests.rs");
    std::fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// `log_aggregator.wasm` → `<out>/log-aggregator.wasm` (the package name).
fn copy_artifact(path: &Path, out_dir: &Path) -> Result<(), String> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let dest = out_dir.join(format!("{}.wasm", stem.replace('_', "-")));
    // Copy to a temporary name and rename, so a running hekad never reads half a file.
    let tmp = dest.with_extension("wasm.tmp");
    std::fs::copy(path, &tmp)
        .map_err(|e| format!("cannot copy {} to {}: {e}", path.display(), tmp.display()))?;
    std::fs::rename(&tmp, &dest).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
}

/// Installs the wasm32-wasip2 target with rustup when it is missing.
fn ensure_target() -> Result<(), String> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = match &listed {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.trim() == TARGET),
        // No rustup: maybe a distribution toolchain with the target; let cargo tell.
        _ => return Ok(()),
    };
    if installed {
        return Ok(());
    }
    println!(
        "cargo:warning=the {TARGET} target is not installed: running `rustup target add {TARGET}` (once)"
    );
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| format!("cannot run `rustup target add {TARGET}`: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`rustup target add {TARGET}` failed ({status}); install it by hand \
             (`rustup target add {TARGET}`) to build the guest plugins"
        ));
    }
    Ok(())
}
