//! `StdinInput`: reads hekad's standard input as a record stream, for piping logs
//! through a pipeline (`tail -F app.log | hekad -config=...`). Default splitter:
//! `TokenSplitter` (one record per line). No options of its own.
//!
//! At end of input the trailing record is delivered (per the splitter's
//! `deliver_incomplete_final`) and the input ends; with `can_exit = false` (the
//! default) hekad then shuts down cleanly after draining, which is what a pipe wants.
//! Reads go through `poll(2)` with a timeout so a quiet stdin does not block shutdown.

use std::fs::File;
use std::io::ErrorKind as IoErrorKind;
use std::os::fd::{AsFd, AsRawFd};

use heka_pipeline::{Input, InputContext, PluginError};
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// How long one `poll` waits before looking at the stop signal again (ms).
const POLL_MS: i32 = 100;

/// StdinInput has no options besides the common input ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdinInputConfig {}

/// The runtime input.
#[derive(Debug, Default)]
pub struct StdinInput;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let _: StdinInputConfig = ctx.parse()?;
    Ok(Box::new(StdinInput))
}

/// Waits until `file` is readable (or hung up) for at most `POLL_MS`.
fn readable(file: &File) -> bool {
    let mut fds = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut fds, 1, POLL_MS) };
    rc > 0
}

impl Input for StdinInput {
    fn run(&mut self, ctx: &mut InputContext) -> Result<(), PluginError> {
        // A dup of fd 0 read unbuffered: std's Stdin buffers, which would hide data
        // from poll().
        let mut stdin = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| PluginError::Fatal(format!("cannot read stdin: {e}")))?;
        let mut runner = ctx.new_split_runner();
        runner.set_label("stdin");
        let mut decoder = ctx.new_decoder();
        let ctx: &InputContext = ctx;
        let headers = ctx.headers();
        loop {
            if ctx.stop.is_raised() {
                return Ok(());
            }
            if !readable(&stdin) {
                continue;
            }
            let eof = match runner.read_from(&mut stdin) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e)
                    if matches!(e.kind(), IoErrorKind::Interrupted | IoErrorKind::WouldBlock) =>
                {
                    continue;
                }
                Err(e) => return Err(PluginError::Fatal(format!("reading stdin: {e}"))),
            };
            // One read's records go to each plugin as one batch.
            let mut batch = ctx.batch();
            batch.deliver_records(&mut runner, eof, decoder.as_deref_mut(), &headers, None)?;
            batch.route()?;
            if eof {
                tracing::info!(input = %ctx.name, "end of standard input");
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_no_options() {
        let t: toml::Table = toml::from_str("bogus = 1").unwrap();
        assert!(crate::config::from_table::<StdinInputConfig>(&t).is_err());
        assert!(crate::config::from_table::<StdinInputConfig>(&toml::Table::new()).is_ok());
    }
}
