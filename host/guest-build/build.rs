//! Builds the guest plugins (`guest-plugins/`, a separate cargo workspace) for
//! `wasm32-wasip2` with a nested cargo, then copies each component to
//! `<workspace>/target/guest-plugins/<name>.wasm` where configs and tests find it.
//!
//! Why a nested cargo: the guests target another architecture with another profile
//! and lock file; cargo has no stable way to build a dependency for a second target.
//! The nested build has its own target dir (`target/guest`), so it never waits on the
//! outer build's lock. If the `wasm32-wasip2` target is missing it is installed once
//! with rustup (and we say so); a failure to do that is a clear error, not a mystery.

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

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let guest_target = ws.join("target/guest");
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&guest_target);
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

    let built = guest_target.join(TARGET).join("release");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut copied = 0;
    let entries =
        std::fs::read_dir(&built).map_err(|e| format!("cannot list {}: {e}", built.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            copy_artifact(&path, &out_dir)?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(format!("no .wasm produced under {}", built.display()));
    }
    Ok(())
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
