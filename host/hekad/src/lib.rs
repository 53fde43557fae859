//! `hekad`: the hekad-rs daemon: command line, `hekad.toml` loading, the plugin
//! registry and the native plugins.
//!
//! Three layers, each importing only the ones before it:
//!
//! - `config`: reading `hekad.toml` and saying where each value is
//!   ([`config::load`]); it knows no plugin type.
//! - `registry`: the one table of plugin types ([`registry::REGISTRY`]), over
//!   `plugins`: one file per plugin, [`plugins::BuildContext`] (what a constructor
//!   gets) and [`plugins::BuiltFilter`] (what a filter constructor returns).
//! - `assemble`: the one pass from a loaded config to a pipeline ready to start:
//!   types, templates, references, matchers, every problem collected. Start here.
//! - `run`: the daemon (signals, pid file); `tools`: `hekad validate` / `hekad match`;
//!   `plugin_test`: `hekad test`, plugin tests over the same constructors.
//! - `timefmt`: the strftime subset encoders use.
//!
//! The binary (`main.rs`) only parses the command line and calls into `run`/`tools`.

pub mod assemble;
pub mod config;
pub mod ops;
pub mod ops_cli;
pub mod plugin_test;
pub mod plugins;
pub mod registry;
pub mod reload;
pub mod run;
pub mod timefmt;
pub mod tools;
