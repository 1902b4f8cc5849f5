//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "epp"`.
//!
//! ```toml
//! [systems.registry]
//! plugin = "epp"
//! [systems.registry.settings]
//! host = "epptest.iis.se"
//! username = "registrar-1"
//! password_file = "/run/credentials/gallra/epp-password"
//! client_cert_file = "/etc/gallra/epp/client.pem"
//! client_key_file = "/run/credentials/gallra/epp-client.key"
//! extension = "iis"
//! [systems.registry.settings.contacts]
//! contact_id = "GALLRA-{customer_id}"
//! ```

use std::path::PathBuf;

use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// The placeholder a contact id template must hold.
pub const CUSTOMER_ID: &str = "{customer_id}";

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The registry's EPP server, e.g. `epp.example-registry.se`. Its TLS certificate must
    /// name this host.
    pub host: String,
    /// The EPP port. Default: 700 (RFC 5734).
    #[serde(default = "default_port")]
    pub port: u16,
    /// PEM file with the CA certificate(s) the registry's server certificate is checked
    /// against. Default: the system's trusted roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file with the registrar's client certificate (and any intermediates). Most
    /// registries require one; set it together with `client_key_file`.
    pub client_cert_file: Option<PathBuf>,
    /// PEM file with the client certificate's private key (PKCS#8, PKCS#1 or SEC1). A secret:
    /// it must not be readable by others.
    pub client_key_file: Option<PathBuf>,
    /// The registrar's client id (`clID`) for login.
    pub username: String,
    /// A file holding the EPP password (one line). It must not be readable by others
    /// (`chmod 600` or `640`).
    pub password_file: PathBuf,
    /// A registry extension to announce at login: `iis` for Internetstiftelsen (`.se`, `.nu`,
    /// `urn:se:iis:xml:epp:iis-1.2`), whose contacts carry an `orgno` that is exported but
    /// cannot be changed. Default: none.
    pub extension: Option<Extension>,
    /// How a subject's contact at the registry is found.
    pub contacts: Contacts,
    /// The domain of the email address an anonymized contact gets
    /// (`anonymized-<hash>@<domain>`). Default: `invalid` (RFC 2606); set a name with a dot,
    /// e.g. `anonymized.invalid`, if the registry insists on one.
    #[serde(default = "default_email_domain")]
    pub anonymized_email_domain: String,
    /// Seconds to wait for a connection or an answer. Default: 30.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// A registry extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extension {
    /// Internetstiftelsen's `urn:se:iis:xml:epp:iis-1.2`.
    Iis,
}

/// How gallra names a subject's contact at the registry.
///
/// Registrars keep the registry's contact handle with the customer; gallra knows the
/// customer by the `customer_id` identifier its account source hands out, and this template
/// turns one into the other. Use `"{customer_id}"` when the customer id *is* the handle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contacts {
    /// The contact id, with `{customer_id}` where the subject's customer id goes, e.g.
    /// `"GALLRA-{customer_id}"`.
    pub contact_id: String,
}

fn default_port() -> u16 {
    700
}

fn default_timeout() -> u64 {
    30
}

fn default_email_domain() -> String {
    "invalid".to_owned()
}

impl Settings {
    /// Checks what serde cannot, without touching files or the network.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        if self.host.trim().is_empty() || self.host.contains(['/', ':', ' ']) {
            problems.add(
                "host",
                "expected a host name or IPv4 address without scheme or port, e.g. epp.example.se",
            );
        }
        if self.port == 0 {
            problems.add("port", "port 0 is not a port");
        }
        // RFC 5730 clIDType: 3 to 16 characters.
        if !(3..=16).contains(&self.username.chars().count()) {
            problems.add("username", "an EPP client id (clID) has 3 to 16 characters");
        }
        match (&self.client_cert_file, &self.client_key_file) {
            (Some(_), None) => {
                problems.add(
                    "client_key_file",
                    "client_cert_file is set, so the client certificate's key is needed too",
                );
            }
            (None, Some(_)) => {
                problems.add(
                    "client_cert_file",
                    "client_key_file is set, so the client certificate is needed too",
                );
            }
            _ => {}
        }
        let template = &self.contacts.contact_id;
        let rest = template.replacen(CUSTOMER_ID, "", 1);
        if !template.contains(CUSTOMER_ID) || rest.contains(['{', '}']) {
            problems.add(
                "contacts.contact_id",
                "expected a template with {customer_id} once and no other braces, e.g. \
                 \"GALLRA-{customer_id}\"",
            );
        }
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.add("contacts.contact_id", "a contact id cannot hold spaces");
        }
        let domain = &self.anonymized_email_domain;
        if domain.is_empty() || domain.contains(['@', ' ']) {
            problems.add(
                "anonymized_email_domain",
                "expected a domain name such as invalid or anonymized.invalid",
            );
        }
        if self.timeout_secs == 0 {
            problems.add(
                "timeout_secs",
                "a timeout of 0 seconds would never let an answer in",
            );
        }
        problems.into_result()
    }

    /// The contact id for a customer id.
    pub fn contact_id(&self, customer_id: &str) -> String {
        self.contacts
            .contact_id
            .replacen(CUSTOMER_ID, customer_id, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(change: impl FnOnce(&mut serde_json::Value)) -> Result<Settings, ConnectorError> {
        let mut value = serde_json::json!({
            "host": "epp.example.se",
            "username": "registrar",
            "password_file": "/run/pw",
            "contacts": { "contact_id": "GALLRA-{customer_id}" },
        });
        change(&mut value);
        let settings: Settings = gallra_plugin_api::parse_settings(value.to_string().as_bytes())?;
        settings.validate()?;
        Ok(settings)
    }

    #[test]
    fn defaults_are_filled_in() {
        let s = settings(|_| {}).unwrap();
        assert_eq!(s.port, 700);
        assert_eq!(s.timeout_secs, 30);
        assert_eq!(s.extension, None);
        assert_eq!(s.contact_id("1001"), "GALLRA-1001");
    }

    #[test]
    fn mistakes_name_their_key() {
        type Change = fn(&mut serde_json::Value);
        let cases: [(&str, Change); 10] = [
            ("hots", |v| v["hots"] = "x".into()),
            ("host", |v| v["host"] = "https://epp.example.se".into()),
            ("port", |v| v["port"] = 0.into()),
            ("username", |v| v["username"] = "ab".into()),
            ("client_key_file", |v| v["client_cert_file"] = "/c".into()),
            ("contacts.contact_id", |v| {
                v["contacts"]["contact_id"] = "GALLRA-{id}".into()
            }),
            ("contacts.contact_id", |v| {
                v["contacts"]["contact_id"] = "{customer_id}-{customer_id}".into()
            }),
            ("contacts.nope", |v| v["contacts"]["nope"] = 1.into()),
            ("extension", |v| v["extension"] = "eurid".into()),
            ("timeout_secs", |v| v["timeout_secs"] = 0.into()),
        ];
        for (key, change) in cases {
            match settings(change) {
                Err(ConnectorError::Config { key: got, .. }) => {
                    assert!(got == key || key.starts_with(&got), "{key}: got {got}")
                }
                other => panic!("{key}: expected a settings error, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_customer_id_can_be_the_handle() {
        let s = settings(|v| v["contacts"]["contact_id"] = "{customer_id}".into()).unwrap();
        assert_eq!(s.contact_id("ABC-123"), "ABC-123");
        let iis = settings(|v| v["extension"] = "iis".into()).unwrap();
        assert_eq!(iis.extension, Some(Extension::Iis));
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings = serde_json::json!({ "host": "epp.example.se", "port": 0, "username": "registrar", "password_file": "/run/pw", "contacts": { "contact_id": "GALLRA" }, "timeout_secs": 0 });
        let keys = gallra_plugin_api::testing::settings_problems::<crate::EppConnector>(&settings);
        assert_eq!(keys, ["port", "contacts.contact_id", "timeout_secs"]);
    }
}
