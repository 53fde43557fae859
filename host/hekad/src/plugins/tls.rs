//! Heka's `[x.tls]` table for the TCP plugins (TcpInput as a server, TcpOutput as a
//! client) and how it becomes a rustls configuration (ring provider, as ureq uses).
//!
//! Every key Heka had is accepted by the parser, so a Heka config gets a clear answer
//! instead of "unknown key": what rustls can honour is honoured, the rest is refused
//! with the key and the reason (never silently ignored):
//!
//! | key | server (TcpInput) | client (TcpOutput) |
//! | --- | --- | --- |
//! | `cert_file`, `key_file` | required | client certificate (mTLS), optional |
//! | `client_auth` | `NoClientCert`, `VerifyClientCertIfGiven`, `RequireAndVerifyClientCert` (the last two need `client_cafile`); `RequestClientCert` and `RequireAnyClientCert` (no verification) refused | refused |
//! | `client_cafile` | CAs that sign client certificates | refused |
//! | `root_cafile` | refused | CAs to trust (default: the Mozilla roots) |
//! | `server_name` | refused | name checked in the certificate (default: the host of `address`) |
//! | `insecure_skip_verify` | refused | no certificate check (tests only) |
//! | `min_version`, `max_version` | `TLS12` or `TLS13` (`SSL30`, `TLS10`, `TLS11` refused: rustls speaks 1.2 and 1.3 only) | same |
//! | `prefer_server_ciphers` | honoured (default true) | refused when false |
//! | `session_tickets_disabled` | honoured | refused |
//! | `ciphers`, `session_ticket_key` | refused (rustls picks safe suites and rotates its ticket keys) | same |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use serde::Deserialize;

static TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// `[x.tls]` as written in `hekad.toml` (Heka's keys).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub client_auth: Option<String>,
    #[serde(default)]
    pub ciphers: Option<Vec<String>>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub prefer_server_ciphers: Option<bool>,
    #[serde(default)]
    pub session_tickets_disabled: bool,
    #[serde(default)]
    pub session_ticket_key: Option<String>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub client_cafile: Option<PathBuf>,
    #[serde(default)]
    pub root_cafile: Option<PathBuf>,
}

/// A key of `[x.tls]` that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsError {
    /// The dotted key as config errors name it (`tls.cert_file`).
    pub key: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> TlsError {
    TlsError {
        key,
        message: message.into(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfig {
    /// The server configuration of a TcpInput.
    pub fn server(&self) -> Result<Arc<ServerConfig>, TlsError> {
        self.refuse_common()?;
        for (set, key) in [
            (self.root_cafile.is_some(), "tls.root_cafile"),
            (self.server_name.is_some(), "tls.server_name"),
            (self.insecure_skip_verify, "tls.insecure_skip_verify"),
        ] {
            if set {
                return Err(bad(key, "is a client setting; a TcpInput is a TLS server"));
            }
        }
        let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) else {
            let missing = if self.cert_file.is_none() {
                "tls.cert_file"
            } else {
                "tls.key_file"
            };
            return Err(bad(missing, "is required for a TLS server"));
        };
        let chain = certificates("tls.cert_file", cert)?;
        let key_der = private_key(key)?;
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.versions()?)
            .map_err(|e| bad("tls.min_version", e.to_string()))?;
        let builder = match self.client_verifier(provider)? {
            None => builder.with_no_client_auth(),
            Some(verifier) => builder.with_client_cert_verifier(verifier),
        };
        let mut config = builder.with_single_cert(chain, key_der).map_err(|e| {
            bad(
                "tls.key_file",
                format!("{}: does not fit cert_file: {e}", key.display()),
            )
        })?;
        config.ignore_client_order = self.prefer_server_ciphers.unwrap_or(true);
        if !self.session_tickets_disabled {
            config.ticketer = rustls::crypto::ring::Ticketer::new()
                .map_err(|e| bad("tls.session_tickets_disabled", e.to_string()))?;
        }
        Ok(Arc::new(config))
    }

    /// How a TcpInput checks client certificates (`client_auth`, `client_cafile`):
    /// `None` when it asks for none.
    fn client_verifier(
        &self,
        provider: Arc<CryptoProvider>,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
        let mode = self.client_auth.as_deref().unwrap_or("NoClientCert");
        match mode {
            "NoClientCert" if self.client_cafile.is_some() => Err(bad(
                "tls.client_cafile",
                "is only used when client_auth verifies client certificates",
            )),
            "NoClientCert" => Ok(None),
            "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
                let Some(ca) = &self.client_cafile else {
                    return Err(bad(
                        "tls.client_cafile",
                        format!("is required with client_auth = {mode:?}"),
                    ));
                };
                let roots = Arc::new(root_store("tls.client_cafile", ca)?);
                let mut verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                if mode == "VerifyClientCertIfGiven" {
                    verifier = verifier.allow_unauthenticated();
                }
                verifier
                    .build()
                    .map(Some)
                    .map_err(|e| bad("tls.client_cafile", e.to_string()))
            }
            "RequestClientCert" | "RequireAnyClientCert" => Err(bad(
                "tls.client_auth",
                format!(
                    "{mode:?} accepts unverified client certificates, which rustls does not do; use \"RequireAndVerifyClientCert\" with client_cafile"
                ),
            )),
            other => Err(bad(
                "tls.client_auth",
                format!(
                    "unknown value {other:?} (expected NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                ),
            )),
        }
    }

    /// The client configuration of a TcpOutput, and the name the server's certificate
    /// must hold (`server_name`, else `host`).
    pub fn client(&self, host: &str) -> Result<(Arc<ClientConfig>, ServerName<'static>), TlsError> {
        self.refuse_common()?;
        for (set, key) in [
            (self.client_auth.is_some(), "tls.client_auth"),
            (self.client_cafile.is_some(), "tls.client_cafile"),
            (
                self.session_tickets_disabled,
                "tls.session_tickets_disabled",
            ),
            (
                self.prefer_server_ciphers == Some(false),
                "tls.prefer_server_ciphers",
            ),
        ] {
            if set {
                return Err(bad(key, "is a server setting; a TcpOutput is a TLS client"));
            }
        }
        let name = self.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned()).map_err(|e| {
            bad(
                "tls.server_name",
                format!("{name:?} is not a valid server name: {e}"),
            )
        })?;
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.versions()?)
            .map_err(|e| bad("tls.min_version", e.to_string()))?;
        let mut roots = RootCertStore::empty();
        match &self.root_cafile {
            Some(path) => roots = root_store("tls.root_cafile", path)?,
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = builder.with_root_certificates(roots);
        let mut config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certificates("tls.cert_file", cert)?, private_key(key)?)
                .map_err(|e| {
                    bad(
                        "tls.key_file",
                        format!("{}: does not fit cert_file: {e}", key.display()),
                    )
                })?,
            (None, None) => builder.with_no_client_auth(),
            (Some(_), None) => return Err(bad("tls.key_file", "is required with cert_file")),
            (None, Some(_)) => return Err(bad("tls.cert_file", "is required with key_file")),
        };
        if self.insecure_skip_verify {
            config
                .dangerous()
                .set_certificate_verifier(Arc::new(NoVerification(provider)));
        }
        Ok((Arc::new(config), server_name))
    }

    /// The keys neither side can honour.
    fn refuse_common(&self) -> Result<(), TlsError> {
        if self.ciphers.is_some() {
            return Err(bad(
                "tls.ciphers",
                "is not supported: rustls uses its own set of safe cipher suites",
            ));
        }
        if self.session_ticket_key.is_some() {
            return Err(bad(
                "tls.session_ticket_key",
                "is not supported: rustls makes and rotates its own ticket keys",
            ));
        }
        Ok(())
    }

    /// `min_version` / `max_version` as rustls protocol versions.
    fn versions(&self) -> Result<&'static [&'static SupportedProtocolVersion], TlsError> {
        let level = |key: &'static str, v: &Option<String>, default: u8| match v.as_deref() {
            None => Ok(default),
            Some("TLS12") => Ok(2),
            Some("TLS13") => Ok(3),
            Some(other @ ("SSL30" | "TLS10" | "TLS11")) => Err(bad(
                key,
                format!(
                    "{other:?} is not supported: only TLS 1.2 and 1.3 are spoken (use \"TLS12\")"
                ),
            )),
            Some(other) => Err(bad(
                key,
                format!("unknown version {other:?} (expected TLS12 or TLS13)"),
            )),
        };
        let min = level("tls.min_version", &self.min_version, 2)?;
        let max = level("tls.max_version", &self.max_version, 3)?;
        match (min, max) {
            (2, 3) => Ok(rustls::ALL_VERSIONS),
            (2, 2) => Ok(TLS12_ONLY),
            (3, 3) => Ok(TLS13_ONLY),
            _ => Err(bad("tls.max_version", "is below min_version")),
        }
    }
}

/// Every certificate of a PEM file.
fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(bad(
            key,
            format!("{}: no PEM certificate in it", path.display()),
        ));
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        bad(
            "tls.key_file",
            format!("{}: no usable private key: {e}", path.display()),
        )
    })
}

/// A trust store of the certificates in a PEM file.
fn root_store(key: &'static str, path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(key, path)? {
        roots
            .add(cert)
            .map_err(|e| bad(key, format!("{}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// `insecure_skip_verify`: any certificate is accepted; signatures are still checked
/// so the handshake stays well-formed.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(dir: &Path, toml: &str) -> TlsConfig {
        let text = toml.replace("DIR", &dir.display().to_string());
        crate::config::from_table(&toml::from_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn what_rustls_cannot_honour_is_refused_by_key() {
        let dir = tempfile::tempdir().unwrap();
        heka_e2e::pki::write_pki(dir.path());
        let server = |t: &str| parse(dir.path(), t).server().map(|_| ()).map_err(|e| e.key);
        let client = |t: &str| {
            parse(dir.path(), t)
                .client("localhost")
                .map(|_| ())
                .map_err(|e| e.key)
        };
        let pair = "cert_file = \"DIR/server.pem\"\nkey_file = \"DIR/server.key\"\n";
        assert_eq!(server(pair), Ok(()));
        assert_eq!(server(""), Err("tls.cert_file"));
        assert_eq!(
            server("cert_file = \"DIR/server.pem\""),
            Err("tls.key_file")
        );
        assert_eq!(
            server(&format!("{pair}ciphers = [\"TLS_RSA_WITH_RC4_128_SHA\"]")),
            Err("tls.ciphers")
        );
        assert_eq!(
            server(&format!("{pair}min_version = \"TLS10\"")),
            Err("tls.min_version")
        );
        assert_eq!(
            server(&format!(
                "{pair}min_version = \"TLS13\"\nmax_version = \"TLS12\""
            )),
            Err("tls.max_version")
        );
        assert_eq!(
            server(&format!("{pair}client_auth = \"RequireAnyClientCert\"")),
            Err("tls.client_auth")
        );
        assert_eq!(
            server(&format!(
                "{pair}client_auth = \"RequireAndVerifyClientCert\""
            )),
            Err("tls.client_cafile")
        );
        assert_eq!(
            server(&format!(
                "{pair}client_auth = \"RequireAndVerifyClientCert\"\nclient_cafile = \"DIR/ca.pem\""
            )),
            Ok(())
        );
        assert_eq!(
            server(&format!("{pair}session_ticket_key = \"x\"")),
            Err("tls.session_ticket_key")
        );
        assert_eq!(
            server(&format!("{pair}root_cafile = \"DIR/ca.pem\"")),
            Err("tls.root_cafile")
        );
        assert_eq!(
            server("cert_file = \"DIR/missing.pem\"\nkey_file = \"DIR/server.key\""),
            Err("tls.cert_file")
        );
        assert_eq!(
            server("cert_file = \"DIR/server.pem\"\nkey_file = \"DIR/client.key\""),
            Err("tls.key_file")
        );
        assert_eq!(client(""), Ok(()));
        assert_eq!(
            client(
                "root_cafile = \"DIR/ca.pem\"\ncert_file = \"DIR/client.pem\"\nkey_file = \"DIR/client.key\""
            ),
            Ok(())
        );
        assert_eq!(
            client("client_auth = \"NoClientCert\""),
            Err("tls.client_auth")
        );
        assert_eq!(
            client("cert_file = \"DIR/client.pem\""),
            Err("tls.key_file")
        );
        assert_eq!(
            client("server_name = \"bad name!\""),
            Err("tls.server_name")
        );
        assert_eq!(
            client("root_cafile = \"DIR/server.key\""),
            Err("tls.root_cafile")
        );
    }
}
