//! `[x]` and `[x.tls]` of an HttpOutput as written in `hekad.toml`, and their checks.
//!
//! The serde structs mirror Heka's keys and defaults exactly; [`HttpConfig::build`]
//! turns them into a ready [`HttpOutput`] (parsed URI, validated headers, one
//! connection-reusing agent) so that nothing is parsed per message and every mistake
//! is a start-up error naming its key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{HeaderName, HeaderValue, Uri};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use super::address;
use super::output::{Client, HttpOutput, Method};

/// HttpOutput's own settings (the common output keys are handled by the runner).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Where to send: an `http://` or `https://` URL. Never logged in full.
    pub address: String,
    /// `GET`, `POST` (default) or `PUT`; `GET` sends no body.
    #[serde(default = "default_method")]
    pub method: String,
    /// Extra request headers, each name with a list of values (Go's `http.Header`).
    #[serde(default)]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Basic auth user; Basic auth is sent when `username` or `password` is set.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password.
    #[serde(default)]
    pub password: Option<String>,
    /// Whole-request timeout in milliseconds; 0 (default) means none.
    #[serde(default)]
    pub http_timeout: u32,
    /// TLS settings, used with `https://` addresses only.
    #[serde(default)]
    pub tls: Option<HttpTlsConfig>,
    /// Requests in flight at once, each on its own keep-alive connection (Fluent
    /// Bit's `workers`; not a Heka key). Acknowledgements stay in order, but with
    /// more than 1 the receiver may see messages out of order. The default, 1, is
    /// Heka's one request at a time; 4 is a good start for a webhook far away (the
    /// benchmark's row 7 against row 4 measures what it buys).
    #[serde(default = "default_workers")]
    pub workers: usize,
}

/// Most `workers` accepted (each is a thread and a connection).
const MAX_WORKERS: usize = 64;

fn default_workers() -> usize {
    1
}

fn default_method() -> String {
    "POST".to_owned()
}

/// `[x.tls]`: Heka's TLS keys. The client-side ones are honoured; the server-side ones
/// (which Go's client ignored too) are accepted and ignored with a warning; the ones
/// rustls cannot honour are rejected rather than silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTlsConfig {
    /// Do not verify the server's certificate (tests, self-signed endpoints only).
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// PEM file of CA certificates to trust instead of the built-in Mozilla roots.
    #[serde(default)]
    pub root_cafile: Option<PathBuf>,
    /// PEM client certificate chain (with `key_file`), for mutual TLS.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Not supported: the server name always comes from `address`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Not supported: rustls uses its own safe cipher suites.
    #[serde(default)]
    pub ciphers: Option<Vec<String>>,
    /// Only `TLS12` (or absent) is accepted: rustls speaks TLS 1.2 and 1.3.
    #[serde(default)]
    pub min_version: Option<String>,
    /// Only `TLS13`/absent is accepted: rustls picks the highest version it can.
    #[serde(default)]
    pub max_version: Option<String>,
    /// Server side only: ignored.
    #[serde(default)]
    pub client_auth: Option<String>,
    /// Server side only: ignored.
    #[serde(default)]
    pub client_cafile: Option<String>,
    /// Server side only: ignored.
    #[serde(default)]
    pub prefer_server_ciphers: Option<bool>,
    /// Server side only: ignored.
    #[serde(default)]
    pub session_tickets_disabled: Option<bool>,
    /// Server side only: ignored.
    #[serde(default)]
    pub session_ticket_key: Option<String>,
}

/// A setting HttpOutput rejects: its (dotted) key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    pub key: &'static str,
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> SettingError {
    SettingError {
        key,
        message: message.into(),
    }
}

impl HttpConfig {
    /// Checks every setting and builds the output. `name` is the plugin's name, for
    /// its log lines.
    pub fn build(self, name: &str) -> Result<HttpOutput, SettingError> {
        let https = address::validate(&self.address).map_err(|m| bad("address", m))?;
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return Err(bad(
                "workers",
                format!("must be 1 to {MAX_WORKERS} (got {})", self.workers),
            ));
        }
        let uri: Uri = self
            .address
            .parse()
            .map_err(|_| bad("address", "is not a valid URL"))?;
        let method = match self.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            _ => {
                return Err(bad(
                    "method",
                    format!("must be GET, POST or PUT (got {:?})", self.method),
                ));
            }
        };
        let headers = self.header_values()?;
        let authorization = self.authorization()?;
        let tls = match (&self.tls, https) {
            (Some(tls), true) => tls.to_ureq()?,
            (Some(_), false) => {
                tracing::warn!(
                    plugin = name,
                    address = %address::redact(&self.address),
                    "[tls] is ignored for an http:// address"
                );
                TlsConfig::default()
            }
            (None, _) => TlsConfig::default(),
        };

        let timeout =
            (self.http_timeout > 0).then(|| Duration::from_millis(u64::from(self.http_timeout)));
        let config = ureq::Agent::config_builder()
            // 4xx/5xx come back as responses so their status, Retry-After and body
            // can be read and classified.
            .http_status_as_error(false)
            // Heka answered a redirect as delivered; following one would re-send a
            // POST body to a URL nobody configured.
            .max_redirects(0)
            .timeout_global(timeout)
            .user_agent(concat!("hekad-rs/", env!("CARGO_PKG_VERSION")))
            // One idle keep-alive connection per worker.
            .max_idle_connections_per_host(self.workers.max(3))
            .max_idle_connections(self.workers.max(10))
            .tls_config(tls)
            .build();
        let client = Client {
            name: name.to_owned(),
            agent: ureq::Agent::new_with_config(config),
            uri,
            redacted: address::redact(&self.address),
            method,
            headers,
            authorization,
        };
        Ok(HttpOutput::new(client, self.workers))
    }
}

impl HttpConfig {
    /// `[headers]` as checked names and values (a name may have several values).
    fn header_values(&self) -> Result<Vec<(HeaderName, HeaderValue)>, SettingError> {
        let mut headers = Vec::new();
        for (name, values) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad("headers", format!("invalid header name {name:?}")))?;
            for value in values {
                let value = HeaderValue::from_str(value)
                    .map_err(|_| bad("headers", format!("invalid value for header {name:?}")))?;
                headers.push((header.clone(), value));
            }
        }
        Ok(headers)
    }

    /// The Basic `Authorization` value of `username`/`password`, marked sensitive so
    /// that it stays out of ureq's debug logging; `None` without either.
    fn authorization(&self) -> Result<Option<HeaderValue>, SettingError> {
        if self.username.is_none() && self.password.is_none() {
            return Ok(None);
        }
        let credentials = format!(
            "{}:{}",
            self.username.as_deref().unwrap_or(""),
            self.password.as_deref().unwrap_or("")
        );
        let mut value = HeaderValue::from_str(&format!("Basic {}", base64(credentials.as_bytes())))
            .map_err(|_| bad("username", "cannot be sent in an HTTP header"))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

impl HttpTlsConfig {
    fn to_ureq(&self) -> Result<TlsConfig, SettingError> {
        if self.server_name.is_some() {
            return Err(bad(
                "tls.server_name",
                "is not supported: the server name is the host of `address`",
            ));
        }
        if self.ciphers.is_some() {
            return Err(bad(
                "tls.ciphers",
                "is not supported: rustls uses its own set of safe cipher suites",
            ));
        }
        if let Some(v) = &self.min_version {
            if !matches!(v.as_str(), "TLS12" | "TLS13") {
                return Err(bad(
                    "tls.min_version",
                    format!(
                        "{v:?} is not supported: only TLS 1.2 and 1.3 are spoken (use \"TLS12\")"
                    ),
                ));
            }
            if v == "TLS13" {
                return Err(bad(
                    "tls.min_version",
                    "\"TLS13\" is not supported: leave it out or use \"TLS12\"",
                ));
            }
        }
        if let Some(v) = &self.max_version
            && v != "TLS13"
        {
            return Err(bad(
                "tls.max_version",
                format!("{v:?} is not supported: rustls negotiates up to TLS 1.3 (leave it out)"),
            ));
        }
        if self.client_auth.is_some()
            || self.client_cafile.is_some()
            || self.prefer_server_ciphers.is_some()
            || self.session_tickets_disabled.is_some()
            || self.session_ticket_key.is_some()
        {
            tracing::warn!(
                "tls: client_auth, client_cafile, prefer_server_ciphers and session_ticket* \
                 configure TLS servers and are ignored by HttpOutput"
            );
        }

        let mut builder = TlsConfig::builder().disable_verification(self.insecure_skip_verify);
        if let Some(path) = &self.root_cafile {
            let pem = read("tls.root_cafile", path)?;
            let certs =
                certificates(&pem).map_err(|m| bad("tls.root_cafile", with_path(path, m)))?;
            builder = builder.root_certs(RootCerts::new_with_certs(&certs));
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert_path), Some(key_path)) => {
                let pem = read("tls.cert_file", cert_path)?;
                let chain = certificates(&pem)
                    .map_err(|m| bad("tls.cert_file", with_path(cert_path, m)))?;
                let pem = read("tls.key_file", key_path)?;
                let key = PrivateKey::from_pem(&pem).map_err(|e| {
                    bad(
                        "tls.key_file",
                        with_path(key_path, format!("no usable private key: {e}")),
                    )
                })?;
                builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
            }
            (Some(_), None) => return Err(bad("tls.key_file", "is required with cert_file")),
            (None, Some(_)) => return Err(bad("tls.cert_file", "is required with key_file")),
            (None, None) => {}
        }
        Ok(builder.build())
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, SettingError> {
    std::fs::read(path).map_err(|e| bad(key, with_path(path, format!("cannot read: {e}"))))
}

fn with_path(path: &Path, message: impl std::fmt::Display) -> String {
    format!("{}: {message}", path.display())
}

/// Every certificate of a PEM file (at least one).
fn certificates(pem: &[u8]) -> Result<Vec<Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        // Keys and other PEM sections are skipped.
        if let PemItem::Certificate(cert) = item.map_err(|e| format!("bad PEM: {e}"))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err("holds no PEM certificate".to_owned());
    }
    Ok(certs)
}

/// Standard base64 with padding (RFC 4648 §4), for the Basic auth header only.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HttpConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn defaults_are_heka_s() {
        let cfg = parse(r#"address = "http://127.0.0.1:1/x""#).unwrap();
        assert_eq!(cfg.method, "POST");
        assert_eq!(cfg.http_timeout, 0);
        assert!(cfg.headers.is_empty() && cfg.username.is_none() && cfg.tls.is_none());
        assert!(cfg.build("out").is_ok());
    }

    #[test]
    fn every_heka_key_parses() {
        let cfg = parse(
            r#"
            address = "https://example.com/hook"
            method = "PUT"
            username = "u"
            password = "p"
            http_timeout = 500
            [headers]
            Content-Type = ["application/json"]
            X-Two = ["a", "b"]
            [tls]
            insecure_skip_verify = true
            prefer_server_ciphers = true
            min_version = "TLS12"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.headers["X-Two"], ["a", "b"]);
        assert!(cfg.build("out").is_ok());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(parse("address = \"http://h/\"\nadress = 1").is_err());
        assert!(parse("address = \"http://h/\"\n[tls]\ninsecure = true").is_err());
        // Heka's header values are lists.
        assert!(parse("address = \"http://h/\"\n[headers]\nA = \"b\"").is_err());
    }

    #[test]
    fn bad_settings_name_their_key() {
        let cases = [
            (r#"address = "ftp://h/x""#, "address"),
            (
                r#"address = "http://h/"
                method = "DELETE""#,
                "method",
            ),
            (
                r#"address = "http://h/"
                [headers]
                "bad name" = ["x"]"#,
                "headers",
            ),
            (
                r#"address = "http://h/"
                [headers]
                A = ["line\nbreak"]"#,
                "headers",
            ),
            (
                r#"address = "https://h/"
                [tls]
                server_name = "x""#,
                "tls.server_name",
            ),
            (
                r#"address = "https://h/"
                [tls]
                min_version = "SSL30""#,
                "tls.min_version",
            ),
            (
                r#"address = "https://h/"
                [tls]
                cert_file = "/nonexistent.pem""#,
                "tls.key_file",
            ),
            (
                r#"address = "https://h/"
                [tls]
                root_cafile = "/nonexistent/ca.pem""#,
                "tls.root_cafile",
            ),
        ];
        for (text, key) in cases {
            let cfg = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let err = cfg.build("out").expect_err(text);
            assert_eq!(err.key, key, "{text}: {err}");
        }
    }

    #[test]
    fn root_cafile_without_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not pem").unwrap();
        let mut cfg = parse(r#"address = "https://h/""#).unwrap();
        cfg.tls = Some(HttpTlsConfig {
            root_cafile: Some(path),
            ..HttpTlsConfig::default()
        });
        let err = cfg.build("out").unwrap_err();
        assert_eq!(err.key, "tls.root_cafile");
        assert!(err.message.contains("no PEM certificate"), "{err}");
    }
}
