//! `HttpOutput`: sends each encoded message as one HTTP request (Heka's HttpOutput).
//!
//! Typically fed by an encoder that renders a webhook body (the Slack encoder), with
//! batching done upstream in a filter. Layout:
//! - `config`: the `hekad.toml` keys (`address`, `method`, `[x.headers]`,
//!   `username`/`password`, `http_timeout`, `[x.tls]`) and their checks;
//! - `output`: the runtime type and how responses are classified (delivered, retry
//!   with `Retry-After`, drop, fatal) for the output runner, which owns the retries;
//! - `address`: validation and redaction of the address (webhook URLs hold secrets
//!   and are never logged in full);
//! - `retry_after`: the `Retry-After` header;
//! - `workers`: the request threads of `workers > 1` (several requests in flight, each
//!   retried on its own, acknowledged in order by the runner).
//!
//! ```toml
//! [SlackOutput]
//! type = "HttpOutput"
//! message_matcher = "Type == 'heka.sandbox-output'"
//! encoder = "SlackEncoder"
//! address = "%ENV[SLACK_WEBHOOK_URL]"
//! http_timeout = 5000
//! [SlackOutput.headers]
//! Content-Type = ["application/json"]
//! ```

mod address;
mod config;
mod output;
mod retry_after;
#[cfg(test)]
mod tests;
mod workers;

pub use address::redact as redact_address;
pub use config::{HttpConfig, HttpTlsConfig, SettingError};
pub use output::{HttpOutput, Method};

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let cfg: HttpConfig = ctx.parse()?;
    let output = cfg
        .build(ctx.name)
        .map_err(|e| ctx.invalid(Some(e.key), e.message))?;
    Ok(Box::new(output))
}
