//! The test PKI: a CA, a server certificate for 127.0.0.1/localhost, a client certificate the
//! server accepts and one from a stranger's CA, written as PEM files.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::PASSWORD;

/// Writes the PEM files and returns the server's TLS configuration.
pub(super) fn make_certificates(dir: &Path) -> Arc<ServerConfig> {
    let (ca_pem, ca) = make_ca("gallra testkit EPP CA");
    let (_, stranger) = make_ca("someone else's CA");
    let (server_cert, server_key) = leaf(
        &ca,
        vec!["localhost".into(), "127.0.0.1".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(&ca, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    let (other_cert, other_key) = leaf(&stranger, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth);
    write(dir, "ca.pem", &ca_pem, 0o644);
    write(dir, "client.pem", &client_cert.pem(), 0o644);
    write(dir, "client.key", &client_key.serialize_pem(), 0o600);
    write(dir, "untrusted-client.pem", &other_cert.pem(), 0o644);
    write(
        dir,
        "untrusted-client.key",
        &other_key.serialize_pem(),
        0o600,
    );
    write(dir, "password", &format!("{PASSWORD}\n"), 0o600);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("PEM the testkit wrote"))
        .expect("the test CA is a CA");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("client verifier");
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::from(server_key),
        )
        .expect("server certificate");
    Arc::new(config)
}

fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).expect("CA certificate").pem();
    (pem, Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("leaf key");
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "gallra testkit");
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    (cert, key)
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test certificate");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .expect("chmod a test certificate");
    }
    #[cfg(not(unix))]
    let _ = mode;
}
