//! `heka-guest-build`: where the guest plugins built from source are.
//!
//! Depending on this crate builds `guest-plugins/` for `wasm32-wasip2` (see
//! `build.rs`: a nested cargo, `rustup target add wasm32-wasip2` when needed) and
//! copies each component to `<workspace>/target/guest-plugins/<name>.wasm`. The paths
//! are absolute and fixed at compile time, which is what tests, benches and the
//! example config need.

use std::path::PathBuf;

/// The directory holding the built components (`<workspace>/target/guest-plugins`).
pub const PLUGINS_DIR: &str = env!("HEKA_GUEST_PLUGINS_DIR");

/// The guest plugins' source workspace (`<workspace>/guest-plugins`).
pub const SOURCE_DIR: &str = env!("HEKA_GUEST_SOURCE_DIR");

/// The path of the component built from package `name` (e.g. "log-aggregator").
pub fn plugin_path(name: &str) -> PathBuf {
    PathBuf::from(PLUGINS_DIR).join(format!("{name}.wasm"))
}

/// The seed's filter: accumulates payloads, injects them on timer_event.
pub fn log_aggregator() -> PathBuf {
    plugin_path("log-aggregator")
}

/// The seed's encoder: Slack webhook JSON.
pub fn slack_encoder() -> PathBuf {
    plugin_path("slack-encoder")
}

/// A decoder filling Fields from a JSON Payload.
pub fn json_decoder() -> PathBuf {
    plugin_path("json-decoder")
}

/// Test guests (`guest-plugins/testing/`): every API function, and hostile plugins.
pub mod testing {
    use std::path::PathBuf;

    use super::plugin_path;

    /// A filter exercising every host API function.
    pub fn api_probe() -> PathBuf {
        plugin_path("api-probe")
    }
    /// An encoder exercising the encoder contract.
    pub fn probe_encoder() -> PathBuf {
        plugin_path("probe-encoder")
    }
    /// A decoder exercising the decoder contract.
    pub fn probe_decoder() -> PathBuf {
        plugin_path("probe-decoder")
    }
    /// Never returns from process_message.
    pub fn infinite_loop() -> PathBuf {
        plugin_path("infinite-loop")
    }
    /// Allocates without bound.
    pub fn unbounded_alloc() -> PathBuf {
        plugin_path("unbounded-alloc")
    }
    /// Floods its output buffer.
    pub fn output_flood() -> PathBuf {
        plugin_path("output-flood")
    }
    /// Panics on Payload "panic".
    pub fn panic() -> PathBuf {
        plugin_path("panic")
    }
    /// Counts messages and keeps the count with `preserve_data` (save/restore state).
    pub fn stateful() -> PathBuf {
        plugin_path("stateful")
    }
    /// Imports `test:evil/spy`, which hekad does not provide.
    pub fn forbidden_import() -> PathBuf {
        plugin_path("forbidden-import")
    }
}
