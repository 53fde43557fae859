//! `[x]` keys of a TcpOutput: Heka's (`address`, `local_address`, `use_tls` with
//! `[x.tls]`, `keep_alive`, `keep_alive_period`, `reconnect_after`) and hekad-rs's
//! delivery acknowledgements (`delivery_acks`, `ack_timeout`, `max_unacked`), checked
//! once at start-up so that every mistake names its key.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use heka_message::{SigningKey, hash_function};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use serde::Deserialize;

use crate::config::parse_duration;
use crate::plugins::tls::TlsConfig;

/// Default `max_unacked`: bytes kept for resending (8 MiB).
pub const DEFAULT_MAX_UNACKED: u64 = 8 * 1024 * 1024;

/// TcpOutput's own settings (the common output keys are handled by the runner).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpOutputConfig {
    /// `host:port` of the receiving TcpInput.
    #[serde(default = "default_address")]
    pub address: String,
    /// Local `ip[:port]` to connect from.
    #[serde(default)]
    pub local_address: Option<String>,
    /// Heka's TLS switch; `[x.tls]` holds the details.
    #[serde(default)]
    pub use_tls: bool,
    /// `[x.tls]`: trusted CAs, server name, client certificate (with `use_tls`).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// TCP keep-alive on the connection.
    #[serde(default)]
    pub keep_alive: bool,
    /// Keep-alive idle time and probe interval, seconds (Heka: 7200).
    #[serde(default = "crate::plugins::net::default_keep_alive_period")]
    pub keep_alive_period: u64,
    /// Reconnect after this many messages (spreads agents over load-balanced
    /// aggregators); 0 = never.
    #[serde(default)]
    pub reconnect_after: u64,
    /// Wait for the receiving TcpInput's delivery acknowledgements before a flush
    /// succeeds (the receiver must set `delivery_acks` too).
    #[serde(default)]
    pub delivery_acks: bool,
    /// How long a flush waits for acknowledgements before it reports a retry.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout: String,
    /// Most bytes sent but not yet acknowledged (or flushed); a send beyond it waits
    /// for acknowledgements first.
    #[serde(default = "default_max_unacked")]
    pub max_unacked: u64,
    /// `[x.signer]`: sign every record (hekad-rs; the form of Heka's client tools'
    /// `[signer]`), for a receiver that verifies with `[y.signer.<name>_<version>]`.
    #[serde(default)]
    pub signer: Option<SignerConfig>,
}

/// `[x.signer]` of a TcpOutput.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// The signer's name, as the receiver's `message_signer` names it.
    pub name: String,
    /// `md5` (Heka's default) or `sha1`.
    #[serde(default = "default_hmac_hash")]
    pub hmac_hash: String,
    /// The shared secret.
    pub hmac_key: String,
    /// The key's version.
    #[serde(default)]
    pub version: u32,
}

fn default_hmac_hash() -> String {
    "md5".into()
}

fn default_address() -> String {
    "localhost:9125".into()
}

fn default_ack_timeout() -> String {
    "30s".into()
}

fn default_max_unacked() -> u64 {
    DEFAULT_MAX_UNACKED
}

/// The checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Resolved again at each connect (DNS may change), checked once here.
    pub address: String,
    pub local_address: Option<SocketAddr>,
    pub keep_alive: Option<Duration>,
    pub reconnect_after: u64,
    pub delivery_acks: bool,
    pub ack_timeout: Duration,
    pub max_unacked: usize,
    /// With `use_tls`: the client configuration and the name the receiver's
    /// certificate must hold.
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    /// With `[x.signer]`: what every record is signed with.
    pub signer: Option<SigningKey>,
}

impl TcpOutputConfig {
    /// Checks every key; an error names the key.
    pub fn settings(&self) -> Result<Settings, (&'static str, String)> {
        resolve(&self.address).map_err(|m| ("address", m))?;
        let tls = match (&self.tls, self.use_tls) {
            (tls, true) => Some(
                tls.clone()
                    .unwrap_or_default()
                    .client(host_of(&self.address))
                    .map_err(|e| (e.key, e.message))?,
            ),
            (Some(_), false) => {
                return Err((
                    "use_tls",
                    "[tls] is given but use_tls is false (Heka would ignore it and send plain TCP)"
                        .to_owned(),
                ));
            }
            (None, false) => None,
        };
        let local_address = match &self.local_address {
            None => None,
            Some(local) => {
                let with_port = if local.parse::<std::net::IpAddr>().is_ok() {
                    format!("{local}:0")
                } else {
                    local.clone()
                };
                Some(resolve(&with_port).map_err(|m| ("local_address", m))?)
            }
        };
        if self.keep_alive && self.keep_alive_period == 0 {
            return Err(("keep_alive_period", "must be at least 1 second".to_owned()));
        }
        let ack_timeout = parse_duration(&self.ack_timeout).map_err(|m| ("ack_timeout", m))?;
        if ack_timeout.is_zero() {
            return Err(("ack_timeout", "must be more than 0".to_owned()));
        }
        let max_unacked = usize::try_from(self.max_unacked)
            .ok()
            .filter(|&n| n >= 64 * 1024)
            .ok_or(("max_unacked", "must be at least 65536 bytes".to_owned()))?;
        Ok(Settings {
            address: self.address.clone(),
            local_address,
            keep_alive: self
                .keep_alive
                .then(|| Duration::from_secs(self.keep_alive_period)),
            reconnect_after: self.reconnect_after,
            delivery_acks: self.delivery_acks,
            ack_timeout,
            max_unacked,
            tls,
            signer: self.signer.as_ref().map(SignerConfig::key).transpose()?,
        })
    }
}

impl SignerConfig {
    fn key(&self) -> Result<SigningKey, (&'static str, String)> {
        if self.name.is_empty() {
            return Err(("signer.name", "must not be empty".to_owned()));
        }
        let function = hash_function(&self.hmac_hash).ok_or((
            "signer.hmac_hash",
            format!("unknown hash {:?} (expected md5 or sha1)", self.hmac_hash),
        ))?;
        Ok(SigningKey::new(
            &self.name,
            self.version,
            function,
            self.hmac_key.as_bytes(),
        ))
    }
}

/// The host part of `host:port` (without the brackets of an IPv6 literal).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// The first address `address` resolves to.
pub fn resolve(address: &str) -> Result<SocketAddr, String> {
    address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address:?} resolves to no address"))
}
