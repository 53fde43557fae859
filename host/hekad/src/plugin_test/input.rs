//! A case's `input` entries as [`Step`]s: messages (our JSON form or a message file),
//! raw lines, bytes for the spec's splitter, ticks and restarts. Exactly one kind per
//! entry, so a typo cannot turn a message into nothing.

use std::path::Path;

use heka_message::{Message, message_from_json};
use serde::Deserialize;

use super::spec::{Step, invalid, parse};
use crate::config::{ConfigError, PluginKind};

/// Where an entry is read: the spec, its directory, the plugin's kind, and whether
/// the spec names a splitter.
pub(super) struct At<'a> {
    pub path: &'a Path,
    pub dir: &'a Path,
    pub kind: PluginKind,
    pub splitter: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputToml {
    message: Option<toml::Table>,
    message_file: Option<String>,
    line: Option<String>,
    lines_file: Option<String>,
    tick: Option<i64>,
    #[serde(default)]
    restart: bool,
    /// `line` / `lines_file`: the Logger an input would give the records.
    logger: Option<String>,
    data: Option<String>,
    data_file: Option<String>,
}

pub(super) fn parse_input(
    at: &At<'_>,
    key: &str,
    table: &toml::Table,
    steps: &mut Vec<Step>,
) -> Result<(), ConfigError> {
    let (path, dir) = (at.path, at.dir);
    let input: InputToml = parse(path, key, table)?;
    check_one(at, key, &input)?;
    let payload = |p: Vec<u8>| {
        Step::Message(Box::new(Message {
            payload: Some(p),
            logger: input.logger.clone(),
            ..Default::default()
        }))
    };
    let bytes_in = at.kind == PluginKind::Input;
    if let Some(table) = input.message {
        let json = serde_json::to_string(&table).map_err(|e| invalid(path, key, e.to_string()))?;
        let msg = message_from_json(&json)
            .map_err(|e| invalid(path, &format!("{key}.message"), e.to_string()))?;
        steps.push(message_step(at, key, msg)?);
    } else if let Some(file) = input.message_file {
        let msg = crate::tools::read_message(&dir.join(file))
            .map_err(|e| invalid(path, &format!("{key}.message_file"), e.to_string()))?;
        steps.push(message_step(at, key, msg)?);
    } else if let Some(line) = input.line {
        let mut line = line.into_bytes();
        if bytes_in {
            // An input reads the line with its end.
            if line.last() != Some(&b'\n') {
                line.push(b'\n');
            }
            steps.push(Step::Data(line));
        } else {
            steps.push(payload(line));
        }
    } else if let Some(file) = input.lines_file {
        let bytes = std::fs::read(dir.join(&file))
            .map_err(|e| invalid(path, &format!("{key}.lines_file"), format!("{file}: {e}")))?;
        if bytes_in {
            steps.push(Step::Data(bytes));
        } else {
            // One record per line, its "\n" kept (what a LogstreamerInput delivers).
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                steps.push(payload(line.to_vec()));
            }
        }
    } else if let Some(data) = input.data {
        steps.push(Step::Data(data.into_bytes()));
    } else if let Some(file) = input.data_file {
        let bytes = std::fs::read(dir.join(&file))
            .map_err(|e| invalid(path, &format!("{key}.data_file"), format!("{file}: {e}")))?;
        steps.push(Step::Data(bytes));
    } else if let Some(ns) = input.tick {
        if at.kind != PluginKind::Filter {
            return Err(invalid(
                path,
                &format!("{key}.tick"),
                "only filters have timer_event",
            ));
        }
        steps.push(Step::Tick(ns));
    } else {
        steps.push(Step::Restart);
    }
    Ok(())
}

/// A message entry: the message itself, or for an input under test its Heka framed
/// protobuf bytes (what a TcpInput with a HekaFramingSplitter reads).
fn message_step(at: &At<'_>, key: &str, msg: Message) -> Result<Step, ConfigError> {
    if at.kind != PluginKind::Input {
        return Ok(Step::Message(Box::new(msg)));
    }
    let (mut encoded, mut framed) = (Vec::new(), Vec::new());
    heka_message::encode_message(&msg, &mut encoded);
    heka_message::frame_message(&encoded, usize::MAX, &mut framed)
        .map_err(|e| invalid(at.path, key, e.to_string()))?;
    Ok(Step::Data(framed))
}

/// Exactly one kind of input per entry; `logger` only with lines; `data` only with a
/// splitter.
fn check_one(at: &At<'_>, key: &str, input: &InputToml) -> Result<(), ConfigError> {
    let path = at.path;
    let given = [
        input.message.is_some(),
        input.message_file.is_some(),
        input.line.is_some(),
        input.lines_file.is_some(),
        input.data.is_some(),
        input.data_file.is_some(),
        input.tick.is_some(),
        input.restart,
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(invalid(
            path,
            key,
            "give exactly one of message, message_file, line, lines_file, data, data_file, tick, restart",
        ));
    }
    let data = input.data.is_some() || input.data_file.is_some();
    if data && !at.splitter && at.kind != PluginKind::Input {
        return Err(invalid(
            path,
            key,
            "data needs a splitter: name a splitter section with `splitter = \"...\"` at the top",
        ));
    }
    let lines = input.line.is_some() || input.lines_file.is_some();
    if input.logger.is_some() && (!lines || at.kind == PluginKind::Input) {
        return Err(invalid(
            path,
            &format!("{key}.logger"),
            "only for line and lines_file, and not for an input (it sets its own)",
        ));
    }
    Ok(())
}
