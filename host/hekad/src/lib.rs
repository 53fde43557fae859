//! `hekad`: the hekad-rs daemon: command line, `hekad.toml` loading, the plugin
//! registry and the native plugins.
//!
//! - `config`: reading and checking `hekad.toml` ([`config::load`]). Start here.
//! - `registry`: the one table of plugin types ([`registry::REGISTRY`]).
//! - `plugins`: one file per plugin, and [`plugins::BuildContext`].
//! - `assemble`: from a loaded config to a pipeline ready to start.
//! - `run`: the daemon (signals, pid file); `tools`: `hekad validate` / `hekad match`.
//! - `timefmt`: the strftime subset encoders use.
//!
//! The binary (`main.rs`) only parses the command line and calls into `run`/`tools`.

pub mod assemble;
pub mod config;
pub mod plugins;
pub mod registry;
pub mod run;
pub mod timefmt;
pub mod tools;
