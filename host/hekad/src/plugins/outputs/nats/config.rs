//! `[x]` keys of a NatsOutput besides the connection keys (`crate::plugins::nats`):
//! the subject, the stream, batching and the publishes in flight, checked once at
//! start-up so that every mistake names its key.

use std::borrow::Cow;
use std::time::Duration;

use heka_message::{FieldValue, Message};
use serde::Deserialize;

use crate::config::parse_duration;
use crate::plugins::nats::Connection;

/// NatsOutput's own settings (the common output keys are handled by the runner).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsOutputConfig {
    /// The subject published to; with `subject_field`, the prefix of it.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// `Type`, `Logger`, `Hostname` or `Fields[name]`: the subject is then
    /// `<subject>.<value>` (characters other than `A-Za-z0-9_-` become `_`).
    #[serde(default)]
    pub subject_field: Option<String>,
    /// The JetStream stream that must hold the subjects (checked at connect).
    #[serde(default = "default_stream")]
    pub stream: String,
    /// Create the stream when it does not exist (subjects `<subject>` and
    /// `<subject>.>`, file storage, `replicas`).
    #[serde(default)]
    pub create_stream: bool,
    /// Replicas of a stream this output creates.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// Heka messages not yet acknowledged by JetStream (the runner's window).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Most Heka messages per NATS message.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Most bytes per NATS message (keep it below the server's `max_payload`, 1 MiB
    /// by default); a single larger Heka message is sent alone.
    #[serde(default = "default_max_batch_bytes")]
    pub max_batch_bytes: usize,
    /// How long a publish waits for its PubAck before it is retried.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout: String,
}

fn default_subject() -> String {
    "heka.messages".into()
}
fn default_stream() -> String {
    "HEKA".into()
}
fn default_replicas() -> usize {
    1
}
fn default_max_in_flight() -> usize {
    8192
}
fn default_max_batch() -> usize {
    128
}
fn default_max_batch_bytes() -> usize {
    512 * 1024
}
fn default_ack_timeout() -> String {
    "5s".into()
}

/// Where a message's subject comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectField {
    Type,
    Logger,
    Hostname,
    Field(String),
}

/// The checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connection: Connection,
    pub subject: String,
    pub subject_field: Option<SubjectField>,
    pub stream: String,
    pub create_stream: bool,
    pub replicas: usize,
    pub max_in_flight: usize,
    pub max_batch: usize,
    pub max_batch_bytes: usize,
    pub ack_timeout: Duration,
}

impl NatsOutputConfig {
    /// Checks every key; an error names the key.
    pub fn settings(&self, connection: Connection) -> Result<Settings, (&'static str, String)> {
        check_subject(&self.subject).map_err(|m| ("subject", m))?;
        let subject_field = self
            .subject_field
            .as_deref()
            .map(|f| match f {
                "Type" => Ok(SubjectField::Type),
                "Logger" => Ok(SubjectField::Logger),
                "Hostname" => Ok(SubjectField::Hostname),
                _ => f
                    .strip_prefix("Fields[")
                    .and_then(|r| r.strip_suffix(']'))
                    .filter(|name| !name.is_empty())
                    .map(|name| SubjectField::Field(name.to_owned()))
                    .ok_or(format!(
                        "{f:?}: expected Type, Logger, Hostname or Fields[name]"
                    )),
            })
            .transpose()
            .map_err(|m| ("subject_field", m))?;
        if self.stream.is_empty() || self.stream.contains(['.', ' ', '\t', '*', '>']) {
            return Err(("stream", format!("{:?} is not a stream name", self.stream)));
        }
        if !(1..=5).contains(&self.replicas) {
            return Err(("replicas", "must be 1 to 5".into()));
        }
        if self.max_in_flight == 0 {
            return Err(("max_in_flight", "must be at least 1".into()));
        }
        if self.max_batch == 0 {
            return Err(("max_batch", "must be at least 1".into()));
        }
        if self.max_batch_bytes == 0 {
            return Err(("max_batch_bytes", "must be at least 1".into()));
        }
        let ack_timeout = parse_duration(&self.ack_timeout).map_err(|m| ("ack_timeout", m))?;
        if ack_timeout.is_zero() {
            return Err(("ack_timeout", "must be more than 0".into()));
        }
        Ok(Settings {
            connection,
            subject: self.subject.clone(),
            subject_field,
            stream: self.stream.clone(),
            create_stream: self.create_stream,
            replicas: self.replicas,
            max_in_flight: self.max_in_flight,
            max_batch: self.max_batch,
            max_batch_bytes: self.max_batch_bytes,
            ack_timeout,
        })
    }
}

/// A subject to publish to: dot-separated tokens, no wildcard, no white space.
fn check_subject(s: &str) -> Result<(), String> {
    let bad = s.is_empty()
        || s.split('.')
            .any(|t| t.is_empty() || t == "*" || t == ">" || t.contains(char::is_whitespace));
    if bad {
        return Err(format!("{s:?} is not a subject to publish to"));
    }
    Ok(())
}

impl Settings {
    /// The subject of `msg` (borrowed when it is the fixed one: no allocation per
    /// message).
    pub fn subject_of(&self, msg: &Message) -> Cow<'_, str> {
        let Some(field) = &self.subject_field else {
            return Cow::Borrowed(&self.subject);
        };
        let value: &[u8] = match field {
            SubjectField::Type => msg.r#type.as_deref().unwrap_or("").as_bytes(),
            SubjectField::Logger => msg.logger.as_deref().unwrap_or("").as_bytes(),
            SubjectField::Hostname => msg.hostname.as_deref().unwrap_or("").as_bytes(),
            SubjectField::Field(name) => match msg.field_value(name, 0, 0) {
                Some(FieldValue::String(b) | FieldValue::Bytes(b)) => b,
                _ => b"",
            },
        };
        let mut subject = String::with_capacity(self.subject.len() + 1 + value.len());
        subject.push_str(&self.subject);
        subject.push('.');
        if value.is_empty() {
            subject.push('_');
        }
        for &b in value {
            let ok = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            subject.push(if ok { b as char } else { '_' });
        }
        Cow::Owned(subject)
    }
}
