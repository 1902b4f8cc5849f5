//! Test support: the testkit's WHMCS seeded with a few clients, the settings that point the
//! connector at it, subjects, and the check that errors carry no personal data.

use gallra_plugin_api::{testing, ConnectorError, IdentifierKind, Subject};
use gallra_plugin_whmcs::WhmcsConnector;
use gallra_testkit::connector::SEEDED_PEOPLE;
use gallra_testkit::connector::{self, assert_no_pii};
pub use gallra_testkit::connector::{field_value, owned};
pub use gallra_testkit::rate_limit::busiest;
use gallra_testkit::server::closed_port;
pub use gallra_testkit::whmcs::{ClientData, Whmcs, IDENTIFIER};
use serde_json::{json, Value};

pub const SYSTEM: &str = "billing";
/// The custom field that holds the personnummer.
pub const PNR_FIELD: u64 = 4;

/// Settings for the test server, with retries that do not make tests slow.
pub fn settings(server: &Whmcs) -> Value {
    json!({
        "base_url": server.base_url(),
        "identifier": IDENTIFIER,
        "secret_file": server.secret_file(),
        "personnummer_field": PNR_FIELD,
        "date_format": "dd/mm/yyyy",
        "http": { "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20 },
    })
}

/// [`settings`] pointed at a port nobody listens on, retrying once.
pub fn unreachable_settings(server: &Whmcs) -> Value {
    let mut s = settings(server);
    s["base_url"] = format!("http://127.0.0.1:{}", closed_port()).into();
    s["http"]["max_retries"] = 1.into();
    s
}

/// Opens the connector the way the daemon does: JSON settings, validate, open.
pub fn open_settings(settings: &Value) -> Result<WhmcsConnector, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}

/// The connector with the standard settings.
pub fn open(server: &Whmcs) -> WhmcsConnector {
    open_settings(&settings(server)).expect("connector opens")
}

/// A subject known by one email.
pub fn email(value: &str) -> Subject {
    connector::by_email(value)
}

/// A subject known by its WHMCS client id.
pub fn customer(id: u64) -> Subject {
    connector::subject(IdentifierKind::CustomerId, &id.to_string())
}

/// Anna: a private client with a personnummer, a phone, a login, a product and a domain.
pub fn anna() -> ClientData {
    let mut anna = ClientData::person("Annika", "Lindqvist", "annika.lindqvist@example.se");
    anna.address1 = "Ringvägen 17".to_owned();
    anna.city = "Umeå".to_owned();
    anna.postcode = "903 27".to_owned();
    anna.phonenumber = "0709876543".to_owned();
    anna.companyname = "Lindqvists Snickeri".to_owned();
    anna.notes = "prefers email".to_owned();
    anna.lastlogin = "Date: 03/10/2016 10:26<br>IP Address: 192.0.2.7<br>Host: h.example".into();
    anna.customfields
        .insert(PNR_FIELD, "19811218-9876".to_owned());
    anna.active_products = 1;
    anna.active_domains = 2;
    anna.has_card = true;
    anna
}

/// Fails if an error message holds any of the seeded personal data.
pub fn assert_no_personal_data(error: &ConnectorError) {
    let seeded_here = ["9876543", "Ringvägen", "192.0.2"];
    assert_no_pii(error, &[&SEEDED_PEOPLE[..], &seeded_here].concat());
}
