//! The conformance suite from gallra-plugin-api, against a real Dovecot seeded with the
//! subject's mail in INBOX and Sent, a bystander's, and near misses (`joanna@…`,
//! `anna@example.se.other.test`) that a substring match would take for the subject's.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Subject};
use gallra_plugin_imap::ImapConnector;
use serde_json::json;

use crate::support::{by_email, open, Account, BYSTANDER, SUBJECT};

const MAILBOXES: [&str; 2] = ["INBOX", "Sent"];

struct SeededMail {
    account: Account,
}

impl ConformanceSystem for SeededMail {
    type Connector = ImapConnector;

    fn open(&mut self) -> Result<ImapConnector, ConnectorError> {
        open(&self.account.settings(&MAILBOXES, json!({})))
    }

    fn open_unreachable(&mut self) -> Result<ImapConnector, ConnectorError> {
        let port = crate::support::closed_port();
        open(&self.account.settings(&MAILBOXES, json!({ "port": port })))
    }

    fn subject(&self) -> Subject {
        by_email(SUBJECT)
    }

    fn expected_export(&self) -> Vec<String> {
        vec![
            SUBJECT.to_owned(),
            "Anna Svensson".to_owned(),
            "Order 1".to_owned(),
            "Re: Order 1".to_owned(),
            "About Anna".to_owned(),
        ]
    }

    fn bystander(&self) -> Subject {
        by_email(BYSTANDER)
    }

    fn bystander_values(&self) -> Vec<String> {
        vec![BYSTANDER.to_owned(), "Bo's order".to_owned()]
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = self.account.settings(&MAILBOXES, json!({}));
        vec![
            InvalidSettings::replacing(&valid, "timeout_secs", 0.into()),
            InvalidSettings::replacing(&valid, "mailboxes", json!([])),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        let emails: Vec<String> = subject.identifiers.iter().map(|i| i.value()).collect();
        MAILBOXES.iter().any(|mailbox| {
            self.account
                .dovecot
                .address_headers(mailbox)
                .iter()
                .any(|headers| crate::support::mentions(headers, &emails))
        })
    }
}

#[test]
fn the_imap_connector_passes_the_conformance_suite() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    conformance::run(&mut SeededMail { account });
}
