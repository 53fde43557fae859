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
    /// 7. The seed pipeline with HttpOutput `workers = 4`: four requests in flight
    ///    (row 4 has the default, 1: one at a time, as Heka).
    SeedWorkers,
    /// 8. The seed pipeline with its sandbox cache emptied before each run: a first
    ///    start, compiling the guests.
    SeedCold,
    /// 9. The seed pipeline tailing the same lines spread over 1,000 files.
    ManyFiles,
    /// 10. The seed pipeline beside 99 more sandbox filters whose matchers never match
    ///     (100 matchers per message, one filter working).
    ManyFilters,
    /// 11. Lines of 64 KiB: tail -> null.
    LongLines,
    /// 12. Fluent Bit shaped like the seed: tail -> Lua group of 100 -> HTTP (run only
    ///     when `fluent-bit` is on PATH).
    FluentBit,
}

/// Files of [`Scenario::ManyFiles`].
pub const SPREAD_FILES: usize = 1000;
/// Line length of [`Scenario::LongLines`] (newline included).
pub const LONG_LINE: usize = 64 * 1024;
/// Sandbox filters of [`Scenario::ManyFilters`].
pub const MANY_FILTERS: usize = 100;

impl Scenario {
    /// All of them, in the issue's order.
    pub const ALL: [Scenario; 12] = [
        Scenario::Floor,
        Scenario::TailNull,
        Scenario::TailWasmFilter,
        Scenario::SeedWasm,
        Scenario::SeedNative,
        Scenario::SeedLua,
        Scenario::SeedWorkers,
        Scenario::SeedCold,
        Scenario::ManyFiles,
        Scenario::ManyFilters,
        Scenario::LongLines,
        Scenario::FluentBit,
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
            Scenario::SeedWorkers => "seed, HttpOutput workers = 4",
            Scenario::SeedCold => "seed, cold sandbox cache (first start)",
            Scenario::ManyFiles => "seed over 1,000 tailed files",
            Scenario::ManyFilters => "seed + 99 non-matching sandbox filters",
            Scenario::LongLines => "64 KiB lines: tail -> null",
            Scenario::FluentBit => "Fluent Bit: tail -> Lua group of 100 -> HTTP",
        }
    }

    /// Whether a `--baseline` hekad runs it too (not the floor, not Fluent Bit, and not
    /// what needs a key an older hekad may not know).
    pub fn has_baseline(self) -> bool {
        !matches!(
            self,
            Scenario::Floor | Scenario::FluentBit | Scenario::SeedWorkers
        )
    }

    /// Whether the receiver is the HTTP server (else hekad's stdout).
    pub fn http(self) -> bool {
        !matches!(
            self,
            Scenario::Floor | Scenario::TailNull | Scenario::TailWasmFilter | Scenario::LongLines
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
            "workers" => Some(Scenario::SeedWorkers),
            "cold" => Some(Scenario::SeedCold),
            "files" => Some(Scenario::ManyFiles),
            "filters" => Some(Scenario::ManyFilters),
            "long" => Some(Scenario::LongLines),
            "fluent-bit" => Some(Scenario::FluentBit),
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

/// The hekad.toml of `scenario` (not [`Scenario::Floor`] or [`Scenario::FluentBit`]).
pub fn config(scenario: Scenario, paths: &Paths) -> String {
    // LogstreamerInput's Logger is the stream's name: the input's own name for one
    // file, the differentiator's result (`access-N.log`) for each of the spread files.
    let lines_matcher = match scenario {
        Scenario::ManyFiles => "Type == 'logfile'",
        _ => "Logger == 'Bench'",
    };
    let mut c = ConfigText {
        text: input_config(scenario, paths),
        paths,
        lines_matcher,
    };
    let aggregator = c.wasm("log-aggregator");
    let slack = c.wasm("slack-encoder");
    match scenario {
        Scenario::Floor | Scenario::FluentBit => {}
        Scenario::TailNull | Scenario::LongLines => c.stdout("Logger == 'Bench'"),
        Scenario::TailWasmFilter => {
            c.filter("SandboxFilter", Some(aggregator));
            c.stdout("Logger == 'Agg'");
        }
        Scenario::SeedWasm | Scenario::SeedCold | Scenario::ManyFiles => {
            c.filter("SandboxFilter", Some(aggregator));
            c.encoder("SandboxEncoder", Some(slack));
            c.http();
        }
        Scenario::SeedWorkers => {
            c.filter("SandboxFilter", Some(aggregator));
            c.encoder("SandboxEncoder", Some(slack));
            c.http();
            c.text.push_str("workers = 4\n");
        }
        Scenario::ManyFilters => {
            c.filter("SandboxFilter", Some(aggregator.clone()));
            c.encoder("SandboxEncoder", Some(slack));
            c.http();
            for i in 1..MANY_FILTERS {
                let _ = write!(
                    c.text,
                    "\n[Other{i}]\ntype = \"SandboxFilter\"\nmessage_matcher = \"Logger == 'Bench' && Type == 'other{i}'\"\nticker_interval = 1\nfilename = {aggregator}\n\n[Other{i}.config]\nmax_lines = {LINES_PER_MESSAGE}\n",
                );
            }
        }
        Scenario::SeedNative => {
            c.filter("LogAggregatorFilter", None);
            c.encoder("SlackEncoder", None);
            c.http();
        }
        Scenario::SeedLua => {
            let lua = |p: &str| quoted(&paths.repo.join(p));
            c.filter(
                "SandboxFilter",
                Some(lua("bench/lua/log_aggregator_table.lua")),
            );
            c.encoder("SandboxEncoder", Some(lua("config/lua/slack_encoder.lua")));
            c.http();
        }
    }
    c.text
}

/// `[hekad]` and the LogstreamerInput `[Bench]` of a scenario.
fn input_config(scenario: Scenario, paths: &Paths) -> String {
    let (file_match, extra_global) = match scenario {
        Scenario::ManyFiles => (
            "file_match = 'access-(?P<Idx>\\d+)\\.log'\ndifferentiator = [\"access-\", \"Idx\", \".log\"]",
            "",
        ),
        Scenario::LongLines => ("file_match = 'access\\.log'", "max_message_size = 262144"),
        _ => ("file_match = 'access\\.log'", ""),
    };
    format!(
        r#"[hekad]
base_dir = {base}
share_dir = {repo}
{extra_global}
{globals}

[Bench]
type = "LogstreamerInput"
log_directory = {logs}
{file_match}
journal_directory = {journal}
"#,
        base = quoted(&paths.base_dir),
        repo = quoted(&paths.repo),
        logs = quoted(&paths.log_dir),
        journal = quoted(&paths.journal_dir),
        globals = paths.globals.join("\n"),
    )
}

/// A scenario's config text as it is assembled, section by section.
struct ConfigText<'a> {
    text: String,
    paths: &'a Paths,
    /// The matcher of the filter (or output) that takes the tailed lines.
    lines_matcher: &'static str,
}

impl ConfigText<'_> {
    /// A guest plugin's `.wasm`, quoted for TOML.
    fn wasm(&self, name: &str) -> String {
        quoted(&self.paths.plugins.join(format!("{name}.wasm")))
    }

    /// `[Agg]`: the aggregating filter of `kind` (a sandbox with `file`).
    fn filter(&mut self, kind: &str, file: Option<String>) {
        let _ = write!(
            self.text,
            "\n[Agg]\ntype = \"{kind}\"\nmessage_matcher = \"{}\"\nticker_interval = 1\n",
            self.lines_matcher
        );
        if let Some(file) = file {
            let _ = writeln!(self.text, "filename = {file}");
        }
        let _ = writeln!(self.text, "\n[Agg.config]\nmax_lines = {LINES_PER_MESSAGE}");
    }

    /// `[Slack]`: the encoder of `kind`.
    fn encoder(&mut self, kind: &str, file: Option<String>) {
        let _ = writeln!(self.text, "\n[Slack]\ntype = \"{kind}\"");
        if let Some(file) = file {
            let _ = writeln!(self.text, "filename = {file}");
        }
    }

    /// `[Webhook]`: the HttpOutput posting `Agg`'s messages to the receiver.
    fn http(&mut self) {
        let _ = write!(
            self.text,
            "\n[Webhook]\ntype = \"HttpOutput\"\nmessage_matcher = \"Logger == 'Agg'\"\naddress = \"{}\"\nencoder = \"Slack\"\n",
            self.paths.url
        );
    }

    /// `[Null]`: a LogOutput of the raw payloads matching `matcher` (to a pipe).
    fn stdout(&mut self, matcher: &str) {
        let _ = write!(
            self.text,
            "\n[Null]\ntype = \"LogOutput\"\nmessage_matcher = \"{matcher}\"\nencoder = \"Raw\"\n\n[Raw]\ntype = \"PayloadEncoder\"\nappend_newlines = false\n"
        );
    }
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

/// The Fluent Bit configuration of [`Scenario::FluentBit`] (classic format): tail
/// with a 1 MiB buffer (the issue's tuned row), a Lua filter grouping 100 lines into
/// one record's `text`, the HTTP output posting JSON to the receiver.
pub fn fluent_bit_config(paths: &Paths, port: u16) -> String {
    format!(
        "[SERVICE]\n    Flush 1\n    Log_Level error\n\n\
         [INPUT]\n    Name tail\n    Path {log}\n    Read_from_Head On\n    Buffer_Chunk_Size 1M\n    Buffer_Max_Size 1M\n\n\
         [FILTER]\n    Name lua\n    Match *\n    script {script}\n    call group\n\n\
         [OUTPUT]\n    Name http\n    Match *\n    Host 127.0.0.1\n    Port {port}\n    URI /\n    Format json\n",
        log = paths.log_dir.join("access.log").display(),
        script = paths.repo.join("bench/lua/fluent_bit_group.lua").display(),
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
            if s == Scenario::FluentBit {
                continue;
            }
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
        assert_eq!(Scenario::parse("13"), None);
        assert_eq!(Scenario::SeedLua.number(), 6);
        assert_eq!(
            Scenario::parse("fluent-bit").map(Scenario::number),
            Some(12)
        );
        let many = config(Scenario::ManyFilters, &paths());
        let t: toml::Table = toml::from_str(&many).unwrap();
        assert!(t.contains_key("Other99") && !t.contains_key("Other100"));
        let files: toml::Table = toml::from_str(&config(Scenario::ManyFiles, &paths())).unwrap();
        assert_eq!(
            files["Bench"]["differentiator"].as_array().map(Vec::len),
            Some(3)
        );
        // The spread files' Logger is their stream name, not the input's.
        assert_eq!(
            files["Agg"]["message_matcher"].as_str(),
            Some("Type == 'logfile'")
        );
    }
}
