//! The SQL connector passes the conformance suite on SQLite, PostgreSQL and MariaDB, each
//! seeded with the standard fixture.
//!
//! The subject is Anna (customer 1, with services and invoices), the bystander Dan
//! (customer 4). For a server, "unreachable" is a closed port; for SQLite, which has no
//! server, it is another program holding an exclusive lock on the file, which the
//! connector must report as transient rather than as an empty result.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_sql::SqlConnector;
use serde_json::{json, Value};

use crate::support::{each_backend, standard_settings, Backend, Fixture};

struct SeededSql<'f> {
    fixture: &'f mut Fixture,
    /// SQLite: the fixture's own connection holds an exclusive lock.
    locked: bool,
}

fn identifier(kind: IdentifierKind, value: &str) -> Identifier {
    Identifier::parse(kind, value).expect("valid identifier")
}

impl SeededSql<'_> {
    fn unlock(&mut self) {
        if std::mem::take(&mut self.locked) {
            self.fixture.exec("COMMIT");
        }
    }

    /// Settings whose database is a closed local port.
    fn unreachable_settings(&self) -> Value {
        let url = match self.fixture.backend {
            Backend::Postgres => "postgres://postgres@127.0.0.1:1/test",
            Backend::Mysql => "mysql://root@127.0.0.1:1/test",
            Backend::Sqlite => unreachable!("SQLite has no server"),
        };
        let path = self.fixture.dir().join("unreachable.url");
        std::fs::write(&path, url).expect("write url file");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let mut settings = standard_settings();
        settings["url_file"] = json!(path);
        settings
    }
}

impl ConformanceSystem for SeededSql<'_> {
    type Connector = SqlConnector;

    fn open(&mut self) -> Result<SqlConnector, ConnectorError> {
        self.unlock();
        self.fixture.open(standard_settings())
    }

    fn open_unreachable(&mut self) -> Result<SqlConnector, ConnectorError> {
        if self.fixture.backend == Backend::Sqlite {
            let connector = self.fixture.open(standard_settings())?;
            self.fixture.exec("BEGIN EXCLUSIVE");
            self.locked = true;
            return Ok(connector);
        }
        self.fixture.open(self.unreachable_settings())
    }

    fn subject(&self) -> Subject {
        Subject::new(vec![
            identifier(IdentifierKind::Email, "anna@example.se"),
            identifier(IdentifierKind::Personnummer, "198112189876"),
            identifier(IdentifierKind::Phone, "+46701234567"),
            identifier(IdentifierKind::CustomerId, "1"),
        ])
    }

    fn expected_export(&self) -> Vec<String> {
        ["anna@example.se", "198112189876", "+46701234567", "vip"]
            .map(str::to_owned)
            .to_vec()
    }

    fn bystander(&self) -> Subject {
        Subject::new(vec![
            identifier(IdentifierKind::Email, "dan@example.se"),
            identifier(IdentifierKind::Personnummer, "19900101-0017"),
            identifier(IdentifierKind::CustomerId, "4"),
        ])
    }

    fn bystander_values(&self) -> Vec<String> {
        vec!["dan@example.se".to_owned(), "19900101-0017".to_owned()]
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = self.fixture.settings(standard_settings());
        vec![
            InvalidSettings::replacing(&valid, "page_size", json!(0)),
            InvalidSettings::replacing(&valid, "subjects.identifiers", json!({})),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        let id = subject
            .of_kind(IdentifierKind::CustomerId)
            .next()
            .expect("test subjects have a customer id")
            .value();
        let email = subject
            .of_kind(IdentifierKind::Email)
            .next()
            .expect("test subjects have an email")
            .value();
        let rows = self.fixture.count(
            "customers",
            &format!("id = {id} OR LOWER(email) = '{email}'"),
        ) + self
            .fixture
            .count("services", &format!("customer_id = {id}"))
            + self
                .fixture
                .count("invoices", &format!("customer_id = {id}"));
        rows > 0
    }
}

#[test]
fn the_sql_connector_passes_the_conformance_suite() {
    each_backend(|fixture| {
        let mut system = SeededSql {
            fixture,
            locked: false,
        };
        conformance::run(&mut system);
        system.unlock();
    });
}
