//! The TLS client configuration: the registry's CA (or the system roots) and the registrar's
//! client certificate, read once when the connector opens.

use std::path::Path;
use std::sync::Arc;

use gallra_plugin_api::ConnectorError;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Settings;

/// Builds the client configuration from the settings' PEM files.
pub fn client_config(settings: &Settings) -> Result<Arc<ClientConfig>, ConnectorError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &settings.ca_file {
        Some(path) => file_roots(path)?,
        None => system_roots()?,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::permanent(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots);
    let config = match (&settings.client_cert_file, &settings.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = certificates("client_cert_file", cert)?;
            secret_file_is_private("client_key_file", key)?;
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                ConnectorError::config(
                    "client_key_file",
                    format!(
                        "cannot read a private key from {}: {e} (expected PEM: PKCS#8, \
                         PKCS#1 or SEC1)",
                        key.display()
                    ),
                )
            })?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                ConnectorError::config(
                    "client_key_file",
                    format!("the key does not fit the client certificate: {e}"),
                )
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectorError> {
    let read =
        CertificateDer::pem_file_iter(path).and_then(|certs| certs.collect::<Result<Vec<_>, _>>());
    match read {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(ConnectorError::config(
            key,
            format!("{} holds no PEM certificate", path.display()),
        )),
        Err(e) => Err(ConnectorError::config(
            key,
            format!("cannot read certificates from {}: {e}", path.display()),
        )),
    }
}

fn file_roots(path: &Path) -> Result<RootCertStore, ConnectorError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates("ca_file", path)? {
        roots.add(cert).map_err(|e| {
            ConnectorError::config(
                "ca_file",
                format!(
                    "{} holds a certificate that is not a CA: {e}",
                    path.display()
                ),
            )
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, ConnectorError> {
    let mut roots = RootCertStore::empty();
    let (added, _) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        return Err(ConnectorError::config(
            "ca_file",
            "no trusted root certificates found on this system; set ca_file to the registry's CA",
        ));
    }
    Ok(roots)
}

/// Refuses a secret file that others can read, the way every gallra secret is checked.
pub fn secret_file_is_private(key: &str, path: &Path) -> Result<(), ConnectorError> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| ConnectorError::config(key, format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o004 != 0 {
            return Err(ConnectorError::config(
                key,
                format!(
                    "{} is readable by others; chmod 600 (or 640) it",
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}

/// Reads the one-line password file.
pub fn read_password(path: &Path) -> Result<String, ConnectorError> {
    secret_file_is_private("password_file", path)?;
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConnectorError::config(
            "password_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let password = text.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(ConnectorError::config(
            "password_file",
            format!("{} is empty", path.display()),
        ));
    }
    Ok(password)
}
