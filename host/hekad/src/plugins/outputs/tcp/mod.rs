//! `TcpOutput`: sends messages to a TcpInput (Heka's TcpOutput): by default each
//! message encoded by ProtobufEncoder in Heka's stream framing, buffered on disk
//! (`use_buffering` defaults to true, as in Heka) so a dead receiver loses nothing.
//!
//! ```toml
//! [agg]
//! type = "TcpOutput"
//! message_matcher = "TRUE"
//! address = "127.0.0.1:5565"
//! delivery_acks = true        # hekad-rs: wait for the receiver's acknowledgements
//! keep_alive = true
//! keep_alive_period = 60
//! ```
//!
//! Without `delivery_acks` a message counts as delivered once the kernel has taken it
//! (Heka's rule): a receiver that dies with messages in its socket buffer or its
//! pipeline loses them. With `delivery_acks` on both ends, the receiver acknowledges
//! what its outputs have delivered (`crate::plugins::net`) and this output keeps every
//! byte until then, sending it again after a reconnect: at-least-once, the duplicates
//! of one receiver failure bounded by `max_unacked` bytes.
//!
//! With `use_tls = true` the connection is TLS (rustls) set up by `[x.tls]` (Heka's
//! keys: `root_cafile`, `server_name`, `cert_file`/`key_file` for a client
//! certificate, ...; see `crate::plugins::tls`); the handshake is part of connecting,
//! so a certificate the output does not trust is a retry whose reason says why.
//!
//! With `[x.signer]` (`name`, `hmac_hash` = `md5`|`sha1`, `hmac_key`, `version`: the
//! form of Heka's client tools) every record is signed (`heka_message::SigningKey`)
//! and a receiving HekaFramingSplitter with `[y.signer.<name>_<version>]` verifies
//! it, so its filters and outputs can select with `message_signer = "<name>"`.
//!
//! Layout: `config` (keys, defaults, checks), `output` (connection, window, acks).

mod config;
mod output;
#[cfg(test)]
mod tests;

pub use config::{DEFAULT_MAX_UNACKED, TcpOutputConfig};
pub use output::TcpOutput;

use crate::config::ConfigError;
use crate::plugins::BuildContext;

/// Registry constructor.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn heka_pipeline::Output>, ConfigError> {
    let cfg: TcpOutputConfig = ctx.parse()?;
    let settings = cfg
        .settings()
        .map_err(|(key, msg)| ctx.invalid(Some(key), msg))?;
    Ok(Box::new(TcpOutput::new(ctx.name, settings)))
}
