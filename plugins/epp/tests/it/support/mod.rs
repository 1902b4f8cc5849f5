//! Test support: a registry (the testkit's EPP server over real TLS with client
//! certificates), the settings that point the connector at it, and subjects.

use gallra_plugin_api::{testing, ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_epp::EppConnector;
use gallra_testkit::connector::assert_no_pii;
pub use gallra_testkit::connector::owned;
pub use gallra_testkit::epp::{ContactData, EppServer};
use serde_json::{json, Value};

pub const SYSTEM: &str = "registry";

/// Settings for the test server: its CA, the accepted client certificate, the right password.
pub fn settings(server: &EppServer) -> Value {
    json!({
        "host": "127.0.0.1",
        "port": server.port(),
        "ca_file": server.ca_pem_path(),
        "client_cert_file": server.client_cert_path(),
        "client_key_file": server.client_key_path(),
        "username": gallra_testkit::epp::USERNAME,
        "password_file": server.password_file_path(),
        "extension": "iis",
        "contacts": { "contact_id": "GALLRA-{customer_id}" },
        "timeout_secs": 5,
    })
}

/// [`settings`] pointed at a port nobody listens on.
pub fn unreachable_settings(server: &EppServer) -> Value {
    let mut s = settings(server);
    s["port"] = gallra_testkit::server::closed_port().into();
    s
}

/// Opens the connector the way the daemon does: JSON settings, validate, open.
pub fn open_settings(settings: &Value) -> Result<EppConnector, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}

/// The connector with the standard settings.
pub fn open(server: &EppServer) -> EppConnector {
    open_settings(&settings(server)).expect("connector opens")
}

/// A subject known by its customer id.
pub fn customer(id: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::CustomerId, id).expect("customer id"),
        Identifier::parse(IdentifierKind::Email, "someone@example.se").expect("email"),
    ])
}

/// Anna, a private person with a `.se` orgno (her personnummer).
pub fn anna() -> ContactData {
    ContactData {
        orgno: Some("[SE]811218-9876".to_owned()),
        ..ContactData::person("Anna Svensson", "anna.svensson@example.se")
    }
}

/// A registry holding Anna (customer 1001, unlinked) and Bertil (1002, registrant of
/// bertil.se), and a bystander (1003).
pub fn seeded() -> EppServer {
    let server = EppServer::start();
    server.add_contact("GALLRA-1001", anna());
    server.add_contact(
        "GALLRA-1002",
        ContactData::person("Bertil Berg", "bertil@example.se"),
    );
    server.add_domain("bertil.se", "GALLRA-1002");
    server.add_contact(
        "GALLRA-1003",
        ContactData::person("Cecilia Ek", "cecilia@example.se"),
    );
    server
}

/// Fails if an error message holds any of the seeded personal data or contact ids.
pub fn assert_no_personal_data(error: &ConnectorError) {
    assert_no_pii(
        error,
        &[
            "1001",
            "1002",
            "1003",
            "GALLRA",
            "Anna",
            "Bertil",
            "Svensson",
            "example.se",
            "811218",
            "Storgatan",
        ],
    );
}
