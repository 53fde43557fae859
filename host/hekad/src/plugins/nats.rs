//! What NatsOutput and NatsInput share: the connection keys (`servers`, credentials,
//! `use_tls` with Heka's `[x.tls]` table), checked once at start-up so that a mistake
//! names its key, and the small tokio runtime each plugin runs its client on.
//!
//! The daemon's runners are threads; async-nats needs tokio. Each NATS plugin
//! therefore owns one current-thread runtime on a thread of its own and talks to its
//! runner through channels, so no other part of hekad sees tokio.
//!
//! The connection keys are split off the plugin's table ([`split_keys`]) and parsed
//! into [`ConnectionConfig`] here, the rest into the plugin's own struct: both with
//! `deny_unknown_fields`, and the keys written down once.
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `servers` | `["nats://127.0.0.1:4222"]` | seed servers; the client learns the rest of a cluster from them |
//! | `credentials_file` | none | a `.creds` file (JWT + NKey seed) |
//! | `user`, `password` | none | user/password authentication (both or neither) |
//! | `token` | none | token authentication |
//! | `use_tls`, `[x.tls]` | `false` | TLS (rustls): `root_cafile`, `cert_file`/`key_file` (client certificate), `insecure_skip_verify`, `min_version`/`max_version` (see `crate::plugins::tls`); the name checked is each server URL's host |
//! | `connect_timeout` | `"5s"` | one connection attempt |

use std::path::PathBuf;
use std::time::Duration;

use async_nats::{Client, ConnectOptions, ServerAddr};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::config::{ConfigError, from_table, parse_duration};
use crate::plugins::BuildContext;
use crate::plugins::tls::TlsConfig;

/// The connection keys, as [`split_keys`] moves them out of a plugin's table.
pub const KEYS: &[&str] = &[
    "servers",
    "credentials_file",
    "user",
    "password",
    "token",
    "use_tls",
    "tls",
    "connect_timeout",
];

/// Moves the connection keys of `table` into a table of their own: (connection,
/// the plugin's own keys).
pub fn split_keys(table: &toml::Table) -> (toml::Table, toml::Table) {
    let mut own = table.clone();
    let mut conn = toml::Table::new();
    for key in KEYS {
        if let Some(v) = own.remove(*key) {
            conn.insert((*key).to_owned(), v);
        }
    }
    (conn, own)
}

/// Parses a NATS plugin's table: the connection keys into [`ConnectionConfig`], the
/// others into the plugin's own `T`; errors name the key and its line.
pub fn parse<T: DeserializeOwned>(
    ctx: &BuildContext,
) -> Result<(ConnectionConfig, T), ConfigError> {
    let (conn, own) = split_keys(ctx.table);
    let err = |e: crate::config::KeyError| ctx.error_kind(e.key.as_deref(), e.kind);
    Ok((
        from_table(&conn).map_err(err)?,
        from_table(&own).map_err(err)?,
    ))
}

/// The connection keys as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    #[serde(default = "default_servers")]
    pub servers: Vec<String>,
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub use_tls: bool,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
}

fn default_servers() -> Vec<String> {
    vec!["nats://127.0.0.1:4222".into()]
}

fn default_connect_timeout() -> String {
    "5s".into()
}

/// The checked connection settings.
#[derive(Clone)]
pub struct Connection {
    servers: Vec<ServerAddr>,
    credentials: Option<String>,
    user_password: Option<(String, String)>,
    token: Option<String>,
    tls: Option<rustls::ClientConfig>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No secrets in logs.
        f.debug_struct("Connection")
            .field("servers", &self.servers)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl ConnectionConfig {
    /// Checks every key (reads the credentials file and the TLS files); an error
    /// names the key.
    pub fn settings(&self) -> Result<Connection, (&'static str, String)> {
        if self.servers.is_empty() {
            return Err(("servers", "must name at least one server".into()));
        }
        let servers = self
            .servers
            .iter()
            .map(|s| {
                s.parse::<ServerAddr>()
                    .map_err(|e| ("servers", format!("{s:?} is not a server URL: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let credentials = match &self.credentials_file {
            None => None,
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                (
                    "credentials_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?),
        };
        let user_password = match (&self.user, &self.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            (None, None) => None,
            (Some(_), None) => return Err(("password", "is required with user".into())),
            (None, Some(_)) => return Err(("user", "is required with password".into())),
        };
        let tls = match (&self.tls, self.use_tls) {
            (tls, true) => {
                let tls = tls.clone().unwrap_or_default();
                if tls.server_name.is_some() {
                    return Err((
                        "tls.server_name",
                        "is not supported by NATS: the name checked is each server URL's host"
                            .into(),
                    ));
                }
                let (config, _) = tls.client("localhost").map_err(|e| (e.key, e.message))?;
                Some((*config).clone())
            }
            (Some(_), false) => {
                return Err((
                    "use_tls",
                    "[tls] is given but use_tls is false (the connection would not use it)".into(),
                ));
            }
            (None, false) => None,
        };
        let connect_timeout =
            parse_duration(&self.connect_timeout).map_err(|m| ("connect_timeout", m))?;
        Ok(Connection {
            servers,
            credentials,
            user_password,
            token: self.token.clone(),
            tls,
            connect_timeout,
        })
    }
}

impl Connection {
    /// Connects: one attempt over the seed servers first, so that credentials the
    /// server refuses are an error here (naming the servers; the plugin's runner
    /// names the plugin) rather than a client retrying in the background forever;
    /// when no server answers, a client that keeps trying in the background. Either
    /// way the client then reconnects on its own, forever, with its own back-off.
    pub async fn connect(&self, name: &str) -> Result<Client, String> {
        use async_nats::ConnectErrorKind::{Authentication, AuthorizationViolation};
        let servers = self.servers_text();
        match self.options(name)?.connect(self.servers.clone()).await {
            Ok(client) => return Ok(client),
            Err(e) if matches!(e.kind(), AuthorizationViolation | Authentication) => {
                return Err(format!(
                    "{servers} refused the credentials ({e}): check credentials_file, user/password or token"
                ));
            }
            Err(e) => {
                tracing::warn!(plugin = %name, servers = %servers, error = %e, "cannot connect to NATS yet; retrying in the background");
            }
        }
        self.options(name)?
            // Servers that are down at start are tried again in the background; the
            // plugin's publishes and pulls fail (and are retried) meanwhile.
            .retry_on_initial_connect()
            .connect(self.servers.clone())
            .await
            .map_err(|e| format!("cannot connect to {servers}: {e}"))
    }

    /// The seed servers, for messages (no user or password that a URL may hold).
    fn servers_text(&self) -> String {
        let urls: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("{}://{}:{}", s.scheme(), s.host(), s.port()))
            .collect();
        urls.join(", ")
    }

    /// The client options: name, timeouts, credentials, TLS, event logging.
    fn options(&self, name: &str) -> Result<ConnectOptions, String> {
        let mut options = ConnectOptions::new()
            .name(format!("hekad {name}"))
            .connection_timeout(self.connect_timeout)
            .max_reconnects(None)
            .event_callback({
                let name = name.to_owned();
                move |event| {
                    let name = name.clone();
                    async move { log_event(&name, &event) }
                }
            });
        if let Some(creds) = &self.credentials {
            options = options
                .credentials(creds)
                .map_err(|e| format!("credentials_file: {e}"))?;
        }
        if let Some((user, password)) = &self.user_password {
            options = options.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            options = options.token(token.clone());
        }
        if let Some(tls) = &self.tls {
            options = options.tls_client_config(tls.clone()).require_tls(true);
        }
        Ok(options)
    }
}

/// Logs a client event: errors (a refused reconnection, a permissions violation) as
/// warnings, the rest (connected, disconnected) as information.
fn log_event(name: &str, event: &async_nats::Event) {
    use async_nats::Event;
    match event {
        Event::ServerError(_) | Event::ClientError(_) | Event::SlowConsumer(_) => {
            tracing::warn!(plugin = %name, %event, "NATS connection")
        }
        _ => tracing::info!(plugin = %name, %event, "NATS connection"),
    }
}

/// A current-thread tokio runtime for one plugin's client.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Connection, (&'static str, String)> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let (conn, own) = split_keys(&table);
        assert!(own.is_empty() || own.contains_key("other"));
        let cfg: ConnectionConfig =
            from_table(&conn).map_err(|e| ("parse", format!("{:?} {:?}", e.key, e.kind)))?;
        cfg.settings()
    }

    #[test]
    fn keys_are_checked_and_named() {
        assert!(parse("servers = [\"nats://127.0.0.1:4222\"]\nother = 1").is_ok());
        assert_eq!(parse("servers = []").unwrap_err().0, "servers");
        assert_eq!(
            parse("servers = [\"nats://a b\"]").unwrap_err().0,
            "servers"
        );
        assert_eq!(parse("user = \"u\"").unwrap_err().0, "password");
        assert_eq!(
            parse("credentials_file = \"/nonexistent/x.creds\"")
                .unwrap_err()
                .0,
            "credentials_file"
        );
        assert_eq!(
            parse("[tls]\nroot_cafile = \"/x\"").unwrap_err().0,
            "use_tls"
        );
        assert_eq!(
            parse("use_tls = true\n[tls]\nserver_name = \"x\"")
                .unwrap_err()
                .0,
            "tls.server_name"
        );
        assert_eq!(
            parse("use_tls = true\n[tls]\nroot_cafile = \"/nonexistent.pem\"")
                .unwrap_err()
                .0,
            "tls.root_cafile"
        );
        assert_eq!(
            parse("connect_timeout = \"x\"").unwrap_err().0,
            "connect_timeout"
        );
        let debug = format!("{:?}", parse("token = \"secret\"").unwrap());
        assert!(!debug.contains("secret"), "{debug}");
    }
}
