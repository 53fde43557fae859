//! A throw-away PKI for TLS tests, made with rcgen in a temp dir: no certificate is
//! checked into the repository, and each test gets keys of its own.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, Issuer, KeyPair};

/// Writes a CA, a server certificate for `localhost` and `127.0.0.1` and a client
/// certificate (`agent.internal`), both signed by the CA, as PEM files into `dir`:
/// `ca.pem`, `server.pem`, `server.key`, `client.pem`, `client.key`.
pub fn write_pki(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let issuer: &Issuer<'_, KeyPair> = &ca;
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    for (name, sans) in [
        (
            "server",
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        ),
        ("client", vec!["agent.internal".to_owned()]),
    ] {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(sans)
            .expect("params")
            .signed_by(&key, issuer)
            .expect("certificate");
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).expect("write pem");
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).expect("write key");
    }
}
