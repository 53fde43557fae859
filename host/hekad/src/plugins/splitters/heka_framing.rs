//! `HekaFramingSplitter`: Heka's stream framing (`0x1E` header `0x1F` message);
//! records are the framed messages' bytes (`use_message_bytes` is always true), for
//! the ProtobufDecoder. The default splitter of TcpInput.
//!
//! HMAC signers (`[x.signer.<name>_<version>]`) are accepted but not verified yet:
//! a config that defines signers gets a warning, and `skip_authentication` is
//! accepted for compatibility.

use std::sync::Arc;

use heka_pipeline::SplitterFactory;
use heka_pipeline::splitters::HekaFramingSplitter;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x]` keys of a HekaFramingSplitter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HekaFramingSplitterConfig {
    /// `[x.signer.<name>_<version>] hmac_key = "..."` tables (not verified yet).
    #[serde(default)]
    pub signer: Option<toml::Table>,
    /// Accept messages without checking signatures (Heka default false).
    #[serde(default)]
    pub skip_authentication: bool,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<SplitterFactory, ConfigError> {
    let cfg: HekaFramingSplitterConfig = ctx.parse()?;
    if cfg.signer.as_ref().is_some_and(|s| !s.is_empty()) && !cfg.skip_authentication {
        tracing::warn!(splitter = %ctx.name, "message signers are configured but HMAC verification is not implemented yet; signed messages are accepted unverified");
    }
    let max = ctx.globals.max_message_size;
    Ok(Arc::new(move || Box::new(HekaFramingSplitter::new(max))))
}
