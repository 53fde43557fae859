//! `FileOutput`: appends each encoded message to a file (Heka's FileOutput).
//!
//! Messages are collected in memory and written in batches decided by Heka's flush
//! rules: `flush_count` messages and/or (`flush_operator`) `flush_interval` ms since
//! the last write. On top of those rules, the runner's `flush()` (queue ran empty,
//! ticker, shutdown) always writes everything, so a quiet stream is never held back
//! and nothing is left in memory at shutdown. The buffer is also written whenever it
//! reaches [`MAX_BUFFERED`] so memory stays bounded whatever the rules say.
//!
//! The file is opened on first use, not at build time, so `hekad validate` creates
//! nothing; a first open that fails is fatal (as Heka's failing `Init`), a later one
//! (after `reopen`) is retried. `reopen()` (SIGHUP) writes what is buffered, closes
//! the file and opens `path` again: after logrotate renamed the file, a fresh one is
//! created. Parent directories are created with `folder_perm`, the file with `perm`
//! (both subject to the process umask, as in Heka).
//!
//! Layout: `config` (the keys, Heka's defaults, checks), `output` (the runtime type:
//! buffer, flush rules, open/reopen, rotation), `tests`.
//!
//! ```toml
//! [FileOutput]
//! message_matcher = "TRUE"
//! path = "/var/log/hekad/all.log"
//! perm = "644"
//! folder_perm = "700"
//! flush_interval = 1000
//! flush_count = 1
//! flush_operator = "AND"
//! encoder = "PayloadEncoder"
//! ```
//!
//! With `rotation_interval` (hours: 1, 4, 12 or 24) `path` is a strftime pattern
//! (`/var/log/hekad/%Y-%m-%d.log`): at each interval boundary (aligned on the epoch,
//! as Go's `Time.Truncate`) the output switches to the file named by the boundary's
//! time. Unlike Heka, the time is UTC (`crate::timefmt`), not local. The switch happens
//! at the next write, so a period without messages creates no file.

mod config;
mod output;
#[cfg(test)]
mod tests;

pub use config::{FileOutputConfig, MAX_BUFFERED};
pub use output::FileOutput;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let cfg: FileOutputConfig = ctx.parse()?;
    let output =
        FileOutput::new(ctx.name, &cfg).map_err(|(key, msg)| ctx.invalid(Some(key), msg))?;
    Ok(Box::new(output))
}

/// Through the registry and the config loader, as hekad builds it.
#[cfg(test)]
mod registry_tests {
    use crate::assemble::assemble;

    #[test]
    fn builds_from_hekad_toml_and_names_bad_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hekad.toml");
        let out = dir.path().join("out/all.log");
        let config = |extra: &str| {
            format!(
                "[all]\ntype = \"FileOutput\"\nmessage_matcher = \"TRUE\"\n\
                 encoder = \"ProtobufEncoder\"\npath = {:?}\n{extra}",
                out.display().to_string()
            )
        };
        std::fs::write(&path, config("flush_count = 10\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let assembled = assemble(&loaded).unwrap_or_else(|e| panic!("{e}"));
        let (_, _, options) = assembled
            .outputs
            .iter()
            .find(|(name, _, _)| name == "all")
            .expect("the output is built");
        assert!(
            options.use_framing,
            "ProtobufEncoder implies framing for FileOutput"
        );
        assert!(!out.exists(), "building creates nothing");

        std::fs::write(&path, config("flush_operator = \"XOR\"\n")).expect("write");
        let loaded = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let err = assemble(&loaded).err().expect("rejected").to_string();
        assert!(err.contains("[all] flush_operator"), "{err}");
    }
}
