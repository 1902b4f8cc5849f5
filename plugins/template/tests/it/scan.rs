//! This connector's own promises beyond the conformance suite's general rules (which check
//! scan, status and settings too): the seeded file's exact pages, last logins and settings
//! messages. Write tests like these for what your system does that no rule can know.

use gallra_plugin_api::{Connector, ConnectorError, Identifier, IdentifierKind, ScanRequest};
use gallra_plugin_api::{ScanPage, Subject};
use serde_json::json;

use crate::support::{open, Shop, ANNIKA, BERTIL, CECILIA};

fn page(shop: &Shop, cursor: Option<String>) -> ScanPage {
    let connector = open(&shop.settings()).unwrap();
    connector.scan(ScanRequest { cursor, limit: 2 }).unwrap()
}

#[test]
fn a_scan_lists_every_customer_once_in_key_order_with_the_last_login() {
    let shop = Shop::seeded();
    let first = page(&shop, None);
    let second = page(&shop, first.next_cursor.clone());
    assert_eq!((first.total, second.total), (Some(3), Some(3)));
    assert_eq!(second.next_cursor, None, "the second page is the last");
    let keys: Vec<&str> = (first.subjects.iter().chain(&second.subjects))
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(keys, [BERTIL[0], ANNIKA[0], CECILIA[0]]);

    // 13:45 in Stockholm's summer is 11:45 UTC.
    let annika = &first.subjects[1];
    let login = annika.facts.last_activity.unwrap();
    assert_eq!(login.to_string(), "2024-05-01T11:45:00Z");
    // Bertil's email cannot be read: said so, not left out silently.
    assert_eq!(first.subjects[0].unreadable, [IdentifierKind::Email]);

    let by_email = Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, ANNIKA[1]).unwrap()
    ]);
    let connector = open(&shop.settings()).unwrap();
    assert_eq!(connector.status(&by_email).unwrap(), annika.facts);
}

#[test]
fn a_relative_path_is_refused_with_its_key() {
    match open(&json!({ "path": "customers.csv" })) {
        Err(ConnectorError::Config { key, .. }) => assert_eq!(key, "path"),
        other => panic!("{:?}", other.err()),
    }
}
