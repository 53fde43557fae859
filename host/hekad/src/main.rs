//! The `hekad` binary: parses the command line and dispatches to the daemon
//! (`hekad::run`) or the tools (`hekad::tools`).
//!
//! Heka's single-dash spellings (`-config=PATH`, `-config PATH`, `-version`) are
//! rewritten to clap's double-dash ones before parsing, so existing service units keep
//! working.
//!
//! Exit codes: 0 clean stop / valid / match; 1 config errors, plugin failure, invalid
//! config, no match; 2 usage errors and malformed expressions or messages (`match`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: messages are allocated by the input thread and
/// freed by whichever output or filter thread finishes them, a cross-thread pattern on
/// which glibc's arenas contend (the benchmark's profile showed `_int_malloc`, `_int_free`
/// and arena lock waits at ~20% of hekad's CPU); mimalloc frees into per-thread pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Heka-compatible log and metrics pipeline daemon with WebAssembly sandboxes.
#[derive(Debug, Parser)]
#[command(name = "hekad", version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Configuration file, or directory of *.toml files (Heka: -config=PATH).
    #[arg(long, value_name = "PATH", default_value = "/etc/hekad.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a configuration (types, keys, references, matchers, files); exit 1 listing
    /// every problem, one per line.
    Validate {
        /// Configuration file or directory.
        path: PathBuf,
    },
    /// Test a message_matcher against a message; exit 0 on match, 1 on no match, 2 on
    /// a malformed expression or message.
    Match {
        /// The message: our JSON form, or Heka protobuf (raw or framed).
        #[arg(long, value_name = "FILE")]
        message: PathBuf,
        /// The message_matcher expression.
        expression: String,
    },
    /// A running hekad's plugins: rates, errors, queues, sandbox limits (ops listener).
    Status {
        #[command(flatten)]
        ops: OpsTarget,
        /// Redraw every second.
        #[arg(long)]
        watch: bool,
    },
    /// Print the messages a running hekad routes that match EXPR, as JSON lines.
    Tail {
        #[command(flatten)]
        ops: OpsTarget,
        /// A message_matcher expression.
        #[arg(long = "match", value_name = "EXPR", default_value = "TRUE")]
        expression: String,
        /// Stop after this many messages.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Ask a running hekad to reload its configuration.
    Reload {
        #[command(flatten)]
        ops: OpsTarget,
    },
    /// Run plugin tests (`*.test.toml` specs, docs/plugin-tests.md); exit 0 all
    /// passed, 1 a case failed, 2 a spec could not run.
    Test {
        /// Spec files, or directories searched for `*.test.toml` (default: ".").
        paths: Vec<PathBuf>,
        /// (Re)write the golden files that differ or are missing.
        #[arg(long)]
        bless: bool,
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
}

/// Where the ops listener of the running hekad is.
#[derive(Debug, clap::Args)]
struct OpsTarget {
    /// The ops listener (`[hekad] ops_address`).
    #[arg(long = "ops", value_name = "HOST:PORT", default_value = heka_ops::DEFAULT_ADDRESS)]
    address: String,
}

impl OpsTarget {
    fn target(self) -> hekad::ops_cli::Target {
        hekad::ops_cli::Target {
            address: self.address,
            token: std::env::var("HEKAD_OPS_TOKEN").ok(),
        }
    }
}

/// Rewrites Heka's `-config=X` / `-config X` / `-version` to `--config=X` etc.
fn heka_argv(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const LONG: [&str; 4] = ["config", "version", "message", "help"];
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            if i == 0 || arg.starts_with("--") || !arg.starts_with('-') {
                return arg;
            }
            let name = arg[1..].split('=').next().unwrap_or("");
            if LONG.contains(&name) {
                format!("-{arg}")
            } else {
                arg
            }
        })
        .collect()
}

/// Logs to stderr at `default` unless `RUST_LOG` says otherwise.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or journald gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(heka_argv(std::env::args()));
    // `hekad test` prints its own report; plugins' warnings (a failed message's
    // reason) still show.
    let quiet = matches!(cli.command, Some(Command::Test { .. }));
    init_logging(if quiet { "warn" } else { "info" });
    match cli.command {
        None => match hekad::run::run(&cli.config) {
            Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
            Err(e) => {
                eprintln!("hekad: {e}");
                ExitCode::from(1)
            }
        },
        Some(Command::Validate { path }) => match hekad::tools::validate(&path) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(1)
            }
        },
        Some(Command::Match {
            message,
            expression,
        }) => match hekad::tools::match_message(&message, &expression) {
            Ok(true) => {
                println!("match");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                println!("no match");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("hekad match: {e}");
                ExitCode::from(2)
            }
        },
        Some(Command::Test {
            paths,
            bless,
            junit,
        }) => plugin_tests(paths, bless, junit),
        Some(command) => ops_command(command),
    }
}

/// `hekad test`.
fn plugin_tests(paths: Vec<PathBuf>, bless: bool, junit: Option<PathBuf>) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths
    };
    let opts = hekad::plugin_test::Options { bless, junit };
    match hekad::plugin_test::run(&paths, &opts, &mut std::io::stdout()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hekad test: {e}");
            ExitCode::from(2)
        }
    }
}

/// The subcommands that talk to a running hekad (`hekad::ops_cli`).
fn ops_command(command: Command) -> ExitCode {
    let result = match command {
        Command::Status { ops, watch } => hekad::ops_cli::status(&ops.target(), watch),
        Command::Tail {
            ops,
            expression,
            limit,
        } => hekad::ops_cli::tail(&ops.target(), &expression, limit),
        Command::Reload { ops } => match hekad::ops_cli::reload(&ops.target()) {
            Ok(outcome) if outcome.ok => {
                println!("reloaded: config generation {}", outcome.generation);
                if let Some(changes) = &outcome.changes {
                    print!("{}", hekad::ops_cli::reload_changes_text(changes));
                }
                Ok(())
            }
            Ok(outcome) => Err(outcome.errors.join("\n")),
            Err(e) => Err(e),
        },
        Command::Validate { .. } | Command::Match { .. } | Command::Test { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hekad: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        heka_argv(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn heka_spellings_are_rewritten() {
        assert_eq!(argv(&["hekad", "-config=/x"]), ["hekad", "--config=/x"]);
        assert_eq!(
            argv(&["hekad", "-config", "/x"]),
            ["hekad", "--config", "/x"]
        );
        assert_eq!(argv(&["hekad", "-version"]), ["hekad", "--version"]);
        assert_eq!(
            argv(&["hekad", "match", "-message=f", "-x"]),
            ["hekad", "match", "--message=f", "-x"]
        );
        assert_eq!(
            argv(&["hekad", "--config", "-config"]),
            ["hekad", "--config", "--config"]
        );
    }

    #[test]
    fn cli_shapes_parse() {
        let c = Cli::try_parse_from(argv(&["hekad", "-config=/etc/h.toml"])).unwrap();
        assert_eq!(c.config, PathBuf::from("/etc/h.toml"));
        assert!(c.command.is_none());
        let c = Cli::try_parse_from(argv(&["hekad", "validate", "x.toml"])).unwrap();
        assert!(matches!(c.command, Some(Command::Validate { .. })));
        let c = Cli::try_parse_from(argv(&[
            "hekad",
            "match",
            "--message",
            "m.json",
            "Type == 'x'",
        ]))
        .unwrap();
        assert!(matches!(c.command, Some(Command::Match { .. })));
    }
}
