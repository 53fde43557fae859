//! `heka-guest-build`: where the guest plugins built from source are.
//!
//! Depending on this crate builds `guest-plugins/` for `wasm32-wasip2` (see
//! `build.rs`: a nested cargo, `rustup target add wasm32-wasip2` when needed) and
//! copies each component to `<workspace>/target/guest-plugins/<name>.wasm`. The paths
//! are absolute and fixed at compile time, which is what tests, benches and the
//! example config need.
//!
//! It is a dev-dependency of the crates whose tests load guests, never a dependency
//! of `hekad`: `cargo build --release -p hekad` compiles no guest. To build them for
//! the example config, `cargo build -p heka-guest-build` (the README's run command).
//!
//! The accessors, [`GUESTS`] and [`foreach_guest_plugin!`] are generated from the
//! guest workspace's members (`build.rs`): adding a guest is adding a member. The
//! test `every_guest_has_a_test` fails when a guest is used by no test.

#![warn(missing_docs)]

use std::path::PathBuf;

/// The directory holding the built components (`<workspace>/target/guest-plugins`).
pub const PLUGINS_DIR: &str = env!("HEKA_GUEST_PLUGINS_DIR");

/// The guest plugins' source workspace (`<workspace>/guest-plugins`).
pub const SOURCE_DIR: &str = env!("HEKA_GUEST_SOURCE_DIR");

/// One guest of the guest workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guest {
    /// The package name, also the artifact's (`log-aggregator` → `log-aggregator.wasm`).
    pub name: &'static str,
    /// A test guest (`guest-plugins/testing/`), reached through [`testing`].
    pub testing: bool,
}

impl Guest {
    /// The path of its built component.
    pub fn path(&self) -> PathBuf {
        plugin_path(self.name)
    }
}

/// The path of the component built from package `name` (e.g. "log-aggregator").
pub fn plugin_path(name: &str) -> PathBuf {
    PathBuf::from(PLUGINS_DIR).join(format!("{name}.wasm"))
}

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
