//! The seeded test system: a customer file in a temporary directory, and the connector
//! opened on it as gallra opens it.
//!
//! CHANGE: your test system. Test against something that behaves like the real one: the real
//! database or server, or a local server that reproduces the API's documented behaviour.

use std::path::PathBuf;

use gallra_plugin_api::{testing, ConnectorError};
use gallra_plugin_customers_csv::CustomersCsv;
use serde_json::{json, Value};

/// The system's name in the tests' gallra.toml.
pub const SYSTEM: &str = "shop";

/// The subject: erased by the conformance suite.
pub const ANNIKA: [&str; 5] = [
    "1001",
    "Annika.Lindqvist@example.se",
    "Annika Lindqvist",
    "+46 70 123 45 67",
    "2024-05-01 13:45:00",
];
/// The bystander: must survive Annika's erasure.
pub const CECILIA: [&str; 5] = [
    "1002",
    "cecilia.bergstrom@example.se",
    "Cecilia Bergström",
    "+46 73 111 22 33",
    "",
];
/// A customer who has never logged in and whose email cannot be read as one.
pub const BERTIL: [&str; 5] = ["0999", "bertil at example.se", "Bertil Ek", "", ""];

/// A customer file in a directory of its own, removed on drop.
pub struct Shop {
    _dir: tempfile::TempDir,
    /// The customer file.
    pub path: PathBuf,
}

impl Shop {
    /// The file with Annika, Cecilia and Bertil.
    pub fn seeded() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("customers.csv");
        let mut writer = csv::Writer::from_path(&path).expect("the file is created");
        writer
            .write_record(["customer_id", "email", "name", "phone", "last_login"])
            .unwrap();
        for customer in [ANNIKA, CECILIA, BERTIL] {
            writer.write_record(customer).unwrap();
        }
        writer.flush().unwrap();
        Self { _dir: dir, path }
    }

    /// The settings a sysadmin writes for it.
    pub fn settings(&self) -> Value {
        json!({ "path": self.path })
    }

    /// The file's text, read directly.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).expect("the customer file is readable")
    }
}

/// Opens the connector from its settings, as gallra does: parsed, validated, opened.
pub fn open(settings: &Value) -> Result<CustomersCsv, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}
