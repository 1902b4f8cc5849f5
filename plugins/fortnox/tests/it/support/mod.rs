//! Test support: the testkit's Fortnox, the settings that point the connector at it,
//! subjects, and the checks on errors and request rates.

use std::time::Duration;

use gallra_plugin_api::{testing, ConnectorError, IdentifierKind, Subject};
use gallra_plugin_fortnox::FortnoxConnector;
use gallra_testkit::connector::SEEDED_PEOPLE;
use gallra_testkit::connector::{self, assert_no_pii};
pub use gallra_testkit::connector::{field_value, owned};
pub use gallra_testkit::fortnox::{Fortnox, InvoiceData, CLIENT_ID, TENANT_ID};
pub use gallra_testkit::rate_limit::busiest;
use gallra_testkit::server::closed_port;
use serde_json::{json, Value};

pub const SYSTEM: &str = "books";

/// A Fortnox whose rate limit is out of the way, for tests about something else (the
/// settings below send faster than Fortnox allows, and retry too briefly to wait out its
/// five-second window).
pub fn fortnox() -> Fortnox {
    let server = Fortnox::start();
    server.set_rate_limit(100_000, Duration::from_secs(5));
    server
}

/// Settings for the test server, with a generous rate and retries that keep tests quick.
pub fn settings(server: &Fortnox) -> Value {
    json!({
        "base_url": server.base_url(),
        "token_url": server.token_url(),
        "client_id": CLIENT_ID,
        "client_secret_file": server.client_secret_file(),
        "tenant_id": TENANT_ID,
        "http": { "timeout_secs": 5, "max_retries": 4, "backoff_initial_ms": 20, "rate_per_sec": 100 },
    })
}

/// [`settings`] pointed at a port nobody listens on, retrying once.
pub fn unreachable_settings(server: &Fortnox) -> Value {
    let port = closed_port();
    let mut s = settings(server);
    s["base_url"] = format!("http://127.0.0.1:{port}/3").into();
    s["token_url"] = format!("http://127.0.0.1:{port}/oauth-v1/token").into();
    s["http"]["max_retries"] = 1.into();
    s
}

/// Opens the connector the way the daemon does: JSON settings, validate, open.
pub fn open_settings(settings: &Value) -> Result<FortnoxConnector, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}

/// The connector with the standard settings.
pub fn open(server: &Fortnox) -> FortnoxConnector {
    open_settings(&settings(server)).expect("connector opens")
}

pub fn email(value: &str) -> Subject {
    connector::subject(IdentifierKind::Email, value)
}

pub fn customer(number: &str) -> Subject {
    connector::subject(IdentifierKind::CustomerId, number)
}

pub fn personnummer(value: &str) -> Subject {
    connector::subject(IdentifierKind::Personnummer, value)
}

/// Anna's customer card: a private person, her personnummer in OrganisationNumber.
pub fn anna_card() -> Value {
    json!({
        "Name": "Annika Lindqvist",
        "Email": "annika.lindqvist@example.se",
        "EmailInvoice": "faktura.annika@example.se",
        "OrganisationNumber": "811218-9876",
        "Address1": "Ringvägen 17",
        "ZipCode": "903 27",
        "City": "Umeå",
        "Phone1": "070-987 65 43",
        "Comments": "ring efter 17",
        "Currency": "SEK",
        "CountryCode": "SE",
        "Type": "PRIVATE",
    })
}

/// A plain card for customer `n`.
pub fn card(name: &str, email: &str) -> Value {
    json!({ "Name": name, "Email": email, "Currency": "SEK", "Type": "PRIVATE" })
}

/// Today's date (UTC) as Fortnox writes dates.
pub fn today() -> String {
    gallra_plugin_api::jiff::Timestamp::now()
        .to_zoned(gallra_plugin_api::jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// Fails if an error message holds any of the seeded personal data.
pub fn assert_no_personal_data(error: &ConnectorError) {
    let seeded_here = ["9876", "ringvägen"];
    assert_no_pii(error, &[&SEEDED_PEOPLE[..], &seeded_here].concat());
}
