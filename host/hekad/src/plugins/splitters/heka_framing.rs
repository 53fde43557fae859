//! `HekaFramingSplitter`: Heka's stream framing (`0x1E` header `0x1F` message);
//! records are the framed messages' bytes (`use_message_bytes` is always true), for
//! the ProtobufDecoder. The default splitter of TcpInput.
//!
//! Signed records are verified as in Heka (`heka_message::SignerKeys`): with the
//! keys of `[x.signer.<name>_<version>] hmac_key = "..."`, a record signed by an
//! unknown signer or key version, or whose digest does not match, is dropped with a
//! warning; the signer of a verified one is what `message_signer` on filters and
//! outputs selects. With no `[x.signer]` every signed record is dropped (Heka's
//! rule); `skip_authentication = true` checks nothing.
//!
//! ```toml
//! [TcpInput]
//! address = "127.0.0.1:5565"
//! splitter = "Verified"
//!
//! [Verified]
//! type = "HekaFramingSplitter"
//!
//! [Verified.signer.ops_1]
//! hmac_key = "a shared secret"
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use heka_message::SignerKeys;
use heka_pipeline::SplitterFactory;
use heka_pipeline::splitters::HekaFramingSplitter;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// `[x]` keys of a HekaFramingSplitter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HekaFramingSplitterConfig {
    /// `[x.signer.<name>_<version>]` tables: the keys signed records are verified with.
    #[serde(default)]
    pub signer: BTreeMap<String, SignerKeyConfig>,
    /// Accept messages without checking signatures (Heka default false).
    #[serde(default)]
    pub skip_authentication: bool,
}

/// `[x.signer.<name>_<version>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerKeyConfig {
    /// The shared secret.
    pub hmac_key: String,
}

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<SplitterFactory, ConfigError> {
    let cfg: HekaFramingSplitterConfig = ctx.parse()?;
    let max = ctx.globals.max_message_size;
    if cfg.skip_authentication {
        return Ok(Arc::new(move || Box::new(HekaFramingSplitter::new(max))));
    }
    let mut keys = SignerKeys::default();
    for (section, key) in &cfg.signer {
        keys.insert(section, key.hmac_key.as_bytes())
            .map_err(|msg| ctx.invalid(Some(&format!("signer.{section}")), msg))?;
    }
    let keys = Arc::new(keys);
    Ok(Arc::new(move || {
        Box::new(HekaFramingSplitter::verifying(max, keys.clone()))
    }))
}
