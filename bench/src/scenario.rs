//! The benchmark's scenarios: what each runs and the hekad config it runs with.
//!
//! Every daemon scenario tails the same generated file from its start (no journal:
//! each run gets a fresh `journal_directory`) and ends when every line has arrived
//! at its receiver. The configs differ only where the scenario says: the filter and
//! encoder are the wasm guest plugins, their native twins (`LogAggregatorFilter`,
//! `SlackEncoder`) or the seed's Lua scripts, with the same options (100 lines per
//! aggregated message, a 1 s ticker for the rest).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One row of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// 1. Reading and splitting the file, no daemon.
    Floor,
    /// 2. tail → LogOutput (stdout, counted by the bench: the null receiver).
    TailNull,
    /// 3. tail → wasm log-aggregator → LogOutput.
    TailWasmFilter,
    /// 4. The seed pipeline: tail → wasm aggregator → wasm slack-encoder → HttpOutput.
    SeedWasm,
    /// 5. The same with the native aggregator and encoder.
    SeedNative,
    /// 6. The same with Lua: the table-buffer aggregator and the seed's encoder.
    SeedLua,
}

impl Scenario {
    /// All six, in the issue's order.
    pub const ALL: [Scenario; 6] = [
        Scenario::Floor,
        Scenario::TailNull,
        Scenario::TailWasmFilter,
        Scenario::SeedWasm,
        Scenario::SeedNative,
        Scenario::SeedLua,
    ];

    /// The number used in the issue and in RESULTS.md.
    pub fn number(self) -> usize {
        Scenario::ALL.iter().position(|&s| s == self).unwrap_or(0) + 1
    }

    /// A short description for the table.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Floor => "floor: read + split the file (no daemon)",
            Scenario::TailNull => "tail -> null (stdout pipe)",
            Scenario::TailWasmFilter => "tail -> wasm aggregator -> null",
            Scenario::SeedWasm => "seed: tail -> wasm agg -> wasm slack -> HTTP",
            Scenario::SeedNative => "seed, native agg + encoder (ceiling)",
            Scenario::SeedLua => "seed, Lua agg (table) + seed slack_encoder.lua",
        }
    }

    /// Whether the receiver is the HTTP server (else hekad's stdout).
    pub fn http(self) -> bool {
        matches!(
            self,
            Scenario::SeedWasm | Scenario::SeedNative | Scenario::SeedLua
        )
    }

    /// Parses "1".."6" or a name.
    pub fn parse(s: &str) -> Option<Scenario> {
        let by_name = match s {
            "floor" => Some(Scenario::Floor),
            "null" => Some(Scenario::TailNull),
            "filter" => Some(Scenario::TailWasmFilter),
            "wasm" | "seed" => Some(Scenario::SeedWasm),
            "native" => Some(Scenario::SeedNative),
            "lua" => Some(Scenario::SeedLua),
            _ => None,
        };
        by_name.or_else(|| {
            let n: usize = s.parse().ok()?;
            Scenario::ALL.get(n.checked_sub(1)?).copied()
        })
    }
}

/// Where a run's files are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Directory holding `access.log`.
    pub log_dir: PathBuf,
    /// `[hekad] base_dir` (shared between runs: its sandbox cache keeps compiled wasm).
    pub base_dir: PathBuf,
    /// This run's fresh journal directory.
    pub journal_dir: PathBuf,
    /// `target/guest-plugins`.
    pub plugins: PathBuf,
    /// The repository root (for `config/lua` and `bench/lua`).
    pub repo: PathBuf,
    /// The HTTP receiver's URL (HTTP scenarios).
    pub url: String,
    /// Extra `[hekad]` lines (`key = value`), for experiments.
    pub globals: Vec<String>,
}

/// Lines per aggregated message (the issue's "100 lines per Slack message").
pub const LINES_PER_MESSAGE: u64 = 100;

fn quoted(p: &Path) -> String {
    // TOML basic strings: escape what could appear in a path.
    format!("{:?}", p.display().to_string())
}

/// The hekad.toml of `scenario` (not [`Scenario::Floor`]).
pub fn config(scenario: Scenario, paths: &Paths) -> String {
    let mut c = String::new();
    let _ = write!(
        c,
        r#"[hekad]
base_dir = {base}
share_dir = {repo}
{globals}

[Bench]
type = "LogstreamerInput"
log_directory = {logs}
file_match = 'access\.log'
journal_directory = {journal}
"#,
        base = quoted(&paths.base_dir),
        repo = quoted(&paths.repo),
        logs = quoted(&paths.log_dir),
        journal = quoted(&paths.journal_dir),
        globals = paths.globals.join("\n"),
    );
    let wasm = |name: &str| quoted(&paths.plugins.join(format!("{name}.wasm")));
    let filter = |c: &mut String, kind: &str, file: Option<String>| {
        let _ = write!(
            c,
            "\n[Agg]\ntype = \"{kind}\"\nmessage_matcher = \"Logger == 'Bench'\"\nticker_interval = 1\n"
        );
        if let Some(file) = file {
            let _ = writeln!(c, "filename = {file}");
        }
        let _ = writeln!(c, "\n[Agg.config]\nmax_lines = {LINES_PER_MESSAGE}");
    };
    let encoder = |c: &mut String, kind: &str, file: Option<String>| {
        let _ = writeln!(c, "\n[Slack]\ntype = \"{kind}\"");
        if let Some(file) = file {
            let _ = writeln!(c, "filename = {file}");
        }
    };
    let http = |c: &mut String| {
        let _ = write!(
            c,
            "\n[Webhook]\ntype = \"HttpOutput\"\nmessage_matcher = \"Logger == 'Agg'\"\naddress = \"{}\"\nencoder = \"Slack\"\n",
            paths.url
        );
    };
    let stdout = |c: &mut String, matcher: &str| {
        let _ = write!(
            c,
            "\n[Null]\ntype = \"LogOutput\"\nmessage_matcher = \"{matcher}\"\nencoder = \"Raw\"\n\n[Raw]\ntype = \"PayloadEncoder\"\nappend_newlines = false\n"
        );
    };
    match scenario {
        Scenario::Floor => {}
        Scenario::TailNull => stdout(&mut c, "Logger == 'Bench'"),
        Scenario::TailWasmFilter => {
            filter(&mut c, "SandboxFilter", Some(wasm("log-aggregator")));
            stdout(&mut c, "Logger == 'Agg'");
        }
        Scenario::SeedWasm => {
            filter(&mut c, "SandboxFilter", Some(wasm("log-aggregator")));
            encoder(&mut c, "SandboxEncoder", Some(wasm("slack-encoder")));
            http(&mut c);
        }
        Scenario::SeedNative => {
            filter(&mut c, "LogAggregatorFilter", None);
            encoder(&mut c, "SlackEncoder", None);
            http(&mut c);
        }
        Scenario::SeedLua => {
            let lua = |p: &str| quoted(&paths.repo.join(p));
            filter(
                &mut c,
                "SandboxFilter",
                Some(lua("bench/lua/log_aggregator_table.lua")),
            );
            encoder(
                &mut c,
                "SandboxEncoder",
                Some(lua("config/lua/slack_encoder.lua")),
            );
            http(&mut c);
        }
    }
    c
}

/// The hekad.toml of the seed's verbatim Lua scripts (string-concatenating
/// aggregator, `ticker_interval` seconds, Heka's default limits but `output_limit`).
pub fn seed_verbatim_config(
    paths: &Paths,
    ticker_interval: u64,
    output_limit: Option<u64>,
) -> String {
    let mut c = config(Scenario::SeedLua, paths);
    let table = quoted(&paths.repo.join("bench/lua/log_aggregator_table.lua"));
    let verbatim = quoted(&paths.repo.join("config/lua/log_aggregator.lua"));
    c = c.replace(&table, &verbatim);
    c = c.replace(
        "ticker_interval = 1\n",
        &format!("ticker_interval = {ticker_interval}\n"),
    );
    let limit = output_limit.map_or(String::new(), |l| format!("output_limit = {l}\n"));
    // The encoder gets the same limit: it outputs what the filter injected, and more.
    let encoder = quoted(&paths.repo.join("config/lua/slack_encoder.lua"));
    c = c.replace(
        &format!("filename = {encoder}\n"),
        &format!("filename = {encoder}\n{limit}"),
    );
    c.replace(
        &format!("\n[Agg.config]\nmax_lines = {LINES_PER_MESSAGE}\n"),
        &format!("{limit}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            log_dir: "/l".into(),
            base_dir: "/b".into(),
            journal_dir: "/j".into(),
            plugins: "/p".into(),
            repo: "/r".into(),
            url: "http://127.0.0.1:1/".into(),
            globals: vec!["plugin_chansize = 50".into()],
        }
    }

    #[test]
    fn every_config_is_valid_toml_and_names_its_plugins() {
        for s in Scenario::ALL.into_iter().skip(1) {
            let text = config(s, &paths());
            let t: toml::Table =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
            assert!(t.contains_key("Bench"));
            assert_eq!(t.contains_key("Webhook"), s.http(), "{s:?}");
        }
        let v = seed_verbatim_config(&paths(), 1, None);
        assert!(v.contains("config/lua/log_aggregator.lua") && !v.contains("max_lines"));
        let v = seed_verbatim_config(&paths(), 1, Some(1 << 23));
        let t: toml::Table = toml::from_str(&v).unwrap();
        assert_eq!(t["Agg"]["output_limit"].as_integer(), Some(1 << 23));
        assert_eq!(t["Slack"]["output_limit"].as_integer(), Some(1 << 23));
    }

    #[test]
    fn parse_by_number_and_name() {
        assert_eq!(Scenario::parse("4"), Some(Scenario::SeedWasm));
        assert_eq!(Scenario::parse("lua"), Some(Scenario::SeedLua));
        assert_eq!(Scenario::parse("0"), None);
        assert_eq!(Scenario::parse("7"), None);
        assert_eq!(Scenario::SeedLua.number(), 6);
    }
}
