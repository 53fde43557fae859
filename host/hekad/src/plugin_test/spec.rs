//! Reading one `*.test.toml` spec into a [`Spec`]: the plugin's section (inline, or
//! pulled by name from a hekad.toml) as a [`Config`] of its own, and the cases with
//! their inputs and expectations, every value checked before anything runs.
//!
//! Every problem is a [`ConfigError`] naming the spec file and the key
//! (`case[1].input[0].tick`), the same wording `hekad validate` uses; the plugin's
//! own keys are checked later by its constructor, which names them the same way.

use std::path::{Path, PathBuf};

use heka_message::{Matcher, Message};
use serde::Deserialize;

use super::input;

use crate::config::{self, Config, ConfigError, ConfigErrors, ErrorKind, PluginKind, from_table};

/// The hostname a spec's plugin sees unless its `[hekad]` says otherwise: fixed, so
/// golden files do not depend on the machine.
pub const TEST_HOSTNAME: &str = "hekad-test";

/// Why a spec cannot run (exit code 2): every problem, each naming file and key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub ConfigErrors);

impl From<ConfigError> for SpecError {
    fn from(e: ConfigError) -> SpecError {
        SpecError(ConfigErrors(vec![e]))
    }
}

/// A loaded spec.
pub struct Spec {
    pub path: PathBuf,
    /// The spec's directory: relative files (goldens, inputs) are found here.
    pub dir: PathBuf,
    /// A configuration holding the plugin's section.
    pub config: Config,
    /// The section under test.
    pub plugin: String,
    pub kind: PluginKind,
    /// The splitter section `data` inputs go through.
    pub splitter: Option<String>,
    /// A filter's `ticker_interval` in ns (for `clock = "messages"`).
    pub ticker_ns: Option<i64>,
    pub cases: Vec<Case>,
}

/// One `[[case]]`.
pub struct Case {
    pub name: String,
    /// The virtual clock at the start (ns); ticks move it.
    pub start_time: i64,
    /// `clock = "messages"`: timer events every `ticker_interval` of message time
    /// (hindsight_cli's mode), fired before the first message at or past each.
    pub message_clock: bool,
    pub steps: Vec<Step>,
    /// The whole ordered output, when given (`no_output = true` is an empty list).
    pub expect: Option<Vec<Expect>>,
    pub count: Option<usize>,
    /// Every output in one file (messages as JSON lines, encoder bytes concatenated).
    pub golden: Option<PathBuf>,
    /// Messages the plugin may fail (Heka's negative return), default 0.
    pub failures: u64,
    /// A substring of the reason the plugin must be terminated with.
    pub terminated: Option<String>,
    pub max_memory: Option<u64>,
    pub max_budget_ratio: Option<f64>,
    /// The section's own keys overridden for this case (`config` merged key by key).
    pub settings: Option<toml::Table>,
    /// Outputs: the statuses an HTTP sink answers first (then 200).
    pub respond: Vec<u16>,
    /// Inputs and outputs: how long a run may take (default 30 s).
    pub timeout: std::time::Duration,
    /// LogstreamerInput: the file under its `log_directory` the case's bytes go to.
    pub file: String,
}

/// One input step.
pub enum Step {
    /// A message for the plugin (Uuid and Timestamp filled in when unset).
    Message(Box<Message>),
    /// Bytes for the spec's splitter; each record it finds is delivered.
    Data(Vec<u8>),
    /// A `timer_event` at this time (ns); the virtual clock moves there.
    Tick(i64),
    /// Stop the plugin cleanly (state saved) and start a fresh one (state restored).
    Restart,
}

/// What one output must be. Unset keys are not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(rename = "type")]
    pub msg_type: Option<String>,
    pub logger: Option<String>,
    pub hostname: Option<String>,
    /// The Payload, or an encoder's output bytes.
    pub payload: Option<String>,
    pub severity: Option<i32>,
    pub pid: Option<i32>,
    pub env_version: Option<String>,
    pub timestamp: Option<i64>,
    /// `Fields[name]`: a value, or an array of the field's values.
    #[serde(default)]
    pub fields: toml::Table,
    /// The Payload (or encoder output) parsed as JSON equals this.
    pub json: Option<toml::Value>,
    /// A Heka message_matcher expression the message must match.
    pub matcher: Option<String>,
    /// A file the Payload (or encoder output) equals byte for byte.
    pub golden: Option<String>,
    /// An HTTP request's method, path (with query) and headers (names in any case).
    pub method: Option<String>,
    pub path: Option<String>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(skip)]
    pub compiled: Option<Matcher>,
    #[serde(skip)]
    pub json_value: Option<serde_json::Value>,
    #[serde(skip)]
    pub golden_path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseToml {
    name: String,
    #[serde(default)]
    start_time: i64,
    clock: Option<String>,
    #[serde(default)]
    input: Vec<toml::Table>,
    expect: Option<Vec<toml::Table>>,
    #[serde(default)]
    no_output: bool,
    count: Option<usize>,
    golden: Option<String>,
    #[serde(default)]
    failures: u64,
    terminated: Option<String>,
    max_memory: Option<u64>,
    max_budget_ratio: Option<f64>,
    settings: Option<toml::Table>,
    #[serde(default)]
    respond: Vec<u16>,
    timeout: Option<f64>,
    file: Option<String>,
}

/// An "invalid value" error at `key` of the spec file.
pub fn invalid(path: &Path, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(path, ErrorKind::InvalidValue(message.into())).key(key)
}

/// Parses `table` into `T`, naming `prefix.<key>` on error.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    prefix: &str,
    table: &toml::Table,
) -> Result<T, ConfigError> {
    from_table(table).map_err(|e| {
        let key = match e.key {
            Some(k) => format!("{prefix}.{k}"),
            None => prefix.to_owned(),
        };
        ConfigError::new(path, e.kind).key(key)
    })
}

/// Reads and checks the spec at `path`.
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(path, ErrorKind::Io(e.to_string())))?;
    let mut doc: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| config::line_of(&text, s.start));
        ConfigError::new(path, ErrorKind::Syntax(e.message().trim().to_owned())).line(line)
    })?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let plugin = take_string(path, &mut doc, "plugin")?;
    let external = take_string(path, &mut doc, "config")?;
    let splitter = take_string(path, &mut doc, "splitter")?;
    let cases = match doc.remove("case") {
        Some(toml::Value::Array(cases)) if !cases.is_empty() => cases,
        _ => return Err(invalid(path, "case", "a spec needs at least one [[case]]").into()),
    };
    let config = match external {
        Some(file) => config::load(&dir.join(file)).map_err(SpecError)?,
        None => inline_config(path, &dir, &text, doc)?,
    };
    let plugin = pick_section(path, &config, plugin)?;
    let kind = config
        .section(&plugin)
        .map_or(PluginKind::Filter, |s| s.kind);
    if let Some(name) = &splitter {
        if kind == PluginKind::Input {
            let why = "an input splits with its own `splitter` key";
            return Err(invalid(path, "splitter", why).into());
        }
        check_splitter(path, &config, name)?;
    }
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        match parse_case(path, &dir, (kind, splitter.is_some()), i, case) {
            Ok(c) => parsed.push(c),
            Err(e) => errors.push(e),
        }
    }
    let ticker_ns = match config.section(&plugin).map(|s| &s.common) {
        Some(crate::config::Common::Filter(c)) => c.ticker_interval.filter(|s| *s > 0),
        _ => None,
    }
    .map(|s| {
        i64::try_from(s)
            .unwrap_or(i64::MAX / 1_000_000_000)
            .saturating_mul(1_000_000_000)
    });
    for (i, case) in parsed.iter().enumerate() {
        if case.message_clock && ticker_ns.is_none() {
            let why =
                format!("clock = \"messages\" needs the section's ticker_interval ([{plugin}])");
            errors.push(invalid(path, &format!("case[{i}].clock"), why));
        }
    }
    if !errors.is_empty() {
        return Err(SpecError(ConfigErrors(errors)));
    }
    Ok(Spec {
        path: path.to_path_buf(),
        dir,
        config,
        plugin,
        kind,
        splitter,
        ticker_ns,
        cases: parsed,
    })
}

fn take_string(path: &Path, doc: &mut toml::Table, key: &str) -> Result<Option<String>, SpecError> {
    match doc.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(
            path,
            key,
            format!("expected a string, found {}", other.type_str()),
        )
        .into()),
    }
}

/// The spec's own `[hekad]` and sections as a configuration: `share_dir` defaults to
/// (and a relative one is resolved against) the spec's directory.
fn inline_config(
    path: &Path,
    dir: &Path,
    text: &str,
    mut doc: toml::Table,
) -> Result<Config, SpecError> {
    let globals = doc
        .entry("hekad")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(g) = globals {
        let share = match g.get("share_dir") {
            Some(toml::Value::String(s)) => dir.join(s),
            _ => dir.to_path_buf(),
        };
        g.insert("share_dir".into(), share.display().to_string().into());
        g.entry("hostname").or_insert_with(|| TEST_HOSTNAME.into());
    }
    let (config, errors) = config::from_document(path, text, doc);
    if !errors.is_empty() {
        return Err(SpecError(ConfigErrors(errors)));
    }
    Ok(config)
}

/// The section under test: `plugin`, or the only section there is.
fn pick_section(path: &Path, config: &Config, plugin: Option<String>) -> Result<String, SpecError> {
    let testable: Vec<_> = config
        .sections
        .iter()
        .filter(|s| s.kind != PluginKind::Splitter)
        .collect();
    let name = match plugin {
        Some(name) => name,
        None if testable.len() == 1 => testable[0].name.clone(),
        None => {
            return Err(invalid(
                path,
                "plugin",
                "name the section to test (the spec has several or none)",
            )
            .into());
        }
    };
    let Some(section) = config.section(&name) else {
        let names: Vec<&str> = config.sections.iter().map(|s| s.name.as_str()).collect();
        return Err(invalid(
            path,
            "plugin",
            format!("no section [{name}] (sections: {})", names.join(", ")),
        )
        .into());
    };
    match section.kind {
        PluginKind::Splitter => {
            let message =
                format!("[{name}] is a splitter; test it through a decoder or input spec (`data`)");
            Err(invalid(path, "plugin", message).into())
        }
        _ => Ok(name),
    }
}

/// `splitter` names a splitter section of the spec's configuration.
fn check_splitter(path: &Path, config: &Config, name: &str) -> Result<(), SpecError> {
    match config.section(name) {
        Some(s) if s.kind == PluginKind::Splitter => Ok(()),
        Some(s) => Err(invalid(
            path,
            "splitter",
            format!("[{name}] is not a splitter ({})", s.type_name),
        )
        .into()),
        None => Err(invalid(path, "splitter", format!("no section [{name}]")).into()),
    }
}

fn parse_case(
    path: &Path,
    dir: &Path,
    (kind, splitter): (PluginKind, bool),
    i: usize,
    case: &toml::Value,
) -> Result<Case, ConfigError> {
    let prefix = format!("case[{i}]");
    let toml::Value::Table(table) = case else {
        return Err(invalid(path, &prefix, "expected a table"));
    };
    let c: CaseToml = parse(path, &prefix, table)?;
    let message_clock = match c.clock.as_deref() {
        None | Some("ticks") => false,
        Some("messages") if kind == PluginKind::Filter => true,
        Some(other) => {
            return Err(invalid(
                path,
                &format!("{prefix}.clock"),
                format!("{other:?}: \"ticks\" (the default) or \"messages\" (filters only)"),
            ));
        }
    };
    let common =
        c.settings.iter().flat_map(|t| t.keys()).find(|k| {
            k.as_str() == "type" || crate::config::common_keys(kind).contains(&k.as_str())
        });
    if let Some(key) = common {
        return Err(invalid(
            path,
            &format!("{prefix}.settings.{key}"),
            "only the plugin's own keys can change per case (write a second spec)",
        ));
    }
    if c.no_output && c.expect.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(invalid(
            path,
            &format!("{prefix}.no_output"),
            "conflicts with a non-empty expect",
        ));
    }
    let live = matches!(kind, PluginKind::Input | PluginKind::Output);
    let live_only = [
        (
            "respond",
            "outputs",
            !c.respond.is_empty() && kind != PluginKind::Output,
        ),
        (
            "timeout",
            "inputs and outputs",
            c.timeout.is_some() && !live,
        ),
        (
            "file",
            "inputs",
            c.file.is_some() && kind != PluginKind::Input,
        ),
    ];
    if let Some((key, kinds, _)) = live_only.iter().find(|(.., bad)| *bad) {
        return Err(invalid(
            path,
            &format!("{prefix}.{key}"),
            format!("only for the plugin kinds docs/plugin-tests.md names: {kinds}"),
        ));
    }
    let timeout = match c.timeout {
        None => std::time::Duration::from_secs(30),
        Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => std::time::Duration::from_secs_f64(s),
        Some(_) => {
            let why = "seconds, more than 0 and at most 3600";
            return Err(invalid(path, &format!("{prefix}.timeout"), why));
        }
    };
    let mut steps = Vec::new();
    for (j, input) in c.input.iter().enumerate() {
        let at = input::At {
            path,
            dir,
            kind,
            splitter,
        };
        input::parse_input(&at, &format!("{prefix}.input[{j}]"), input, &mut steps)?;
    }
    let expect = match (c.expect, c.no_output) {
        (Some(list), _) => Some(
            list.iter()
                .enumerate()
                .map(|(j, t)| parse_expect(path, dir, kind, &format!("{prefix}.expect[{j}]"), t))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        (None, true) => Some(Vec::new()),
        (None, false) => None,
    };
    Ok(Case {
        name: c.name,
        start_time: c.start_time,
        message_clock,
        steps,
        expect,
        count: c.count,
        golden: c.golden.map(|g| dir.join(g)),
        failures: c.failures,
        terminated: c.terminated,
        max_memory: c.max_memory,
        max_budget_ratio: c.max_budget_ratio,
        settings: c.settings,
        respond: c.respond,
        timeout,
        file: c.file.unwrap_or_else(|| "input.log".into()),
    })
}

fn parse_expect(
    path: &Path,
    dir: &Path,
    kind: PluginKind,
    key: &str,
    table: &toml::Table,
) -> Result<Expect, ConfigError> {
    let mut e: Expect = parse(path, key, table)?;
    if kind == PluginKind::Encoder {
        let headers = e.msg_type.is_some()
            || e.logger.is_some()
            || e.hostname.is_some()
            || e.severity.is_some()
            || e.pid.is_some()
            || e.env_version.is_some()
            || e.timestamp.is_some()
            || !e.fields.is_empty()
            || e.matcher.is_some()
            || e.method.is_some()
            || e.path.is_some()
            || !e.headers.is_empty();
        if headers {
            return Err(invalid(
                path,
                key,
                "an encoder's output is bytes: only payload, json and golden apply",
            ));
        }
    }
    for (name, value) in &e.fields {
        let scalar = |v: &toml::Value| {
            matches!(
                v,
                toml::Value::String(_)
                    | toml::Value::Integer(_)
                    | toml::Value::Float(_)
                    | toml::Value::Boolean(_)
            )
        };
        let ok = match value {
            toml::Value::Array(values) => values.iter().all(scalar),
            v => scalar(v),
        };
        if !ok {
            return Err(invalid(
                path,
                &format!("{key}.fields.{name}"),
                "expected a string, integer, float, bool or an array of them",
            ));
        }
    }
    if let Some(expr) = &e.matcher {
        let m = Matcher::parse(expr)
            .map_err(|err| invalid(path, &format!("{key}.matcher"), err.to_string()))?;
        e.compiled = Some(m);
    }
    if let Some(json) = &e.json {
        let v = serde_json::to_value(json)
            .map_err(|err| invalid(path, &format!("{key}.json"), err.to_string()))?;
        e.json_value = Some(v);
    }
    e.golden_path = e.golden.as_ref().map(|g| dir.join(g));
    Ok(e)
}
