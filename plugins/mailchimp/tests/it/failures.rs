//! Credentials, the data centre, reachability and Mailchimp's limit of 10 simultaneous
//! connections.

use std::time::Duration;

use gallra_plugin_api::{Connector, ConnectorError};

use crate::support::*;

const ANNA: &str = "anna.svensson@example.se";

#[test]
fn a_wrong_api_key_is_permanent_and_says_to_check_the_credentials() {
    let server = Mailchimp::start();
    with_audiences(&server);
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["api_key_file"] = secrets.file("wrong", "0000-us21").to_str().unwrap().into();
    let connector = open_settings(&s).unwrap();
    for error in [
        connector.health().unwrap_err(),
        connector.lookup(&by_email(ANNA)).unwrap_err(),
    ] {
        assert_bad_credentials(&error, &[ANNA, "anna.svensson"]);
    }
}

#[test]
fn the_base_url_comes_from_the_keys_data_centre() {
    let secrets = Secrets::new();
    let with_dc = serde_json::json!({"api_key_file": secrets.file("k1", "abc123-us21")});
    open_settings(&with_dc).expect("a key with a data centre needs no base_url");
    let without = serde_json::json!({"api_key_file": secrets.file("k2", "abc123")});
    match open_settings(&without) {
        Err(ConnectorError::Config { key, message }) => {
            assert_eq!(key, "api_key_file");
            assert!(!message.contains("abc123"), "the key is not quoted");
        }
        other => panic!("expected a config error, got {:?}", other.err()),
    }
}

#[test]
fn an_unreachable_mailchimp_is_transient_never_empty() {
    let secrets = Secrets::new();
    let connector = open_settings(&unreachable_settings(&secrets)).unwrap();
    for result in [
        connector.lookup(&by_email(ANNA)).map(|_| ()),
        connector.erase(&by_email(ANNA)).map(|_| ()),
        connector.restrict(&by_email(ANNA), true),
        connector.health(),
    ] {
        assert_transient(&result.unwrap_err(), &[ANNA, "anna.svensson"]);
    }
}

/// Many audiences and slow answers, so that requests overlap.
fn busy_account() -> Mailchimp {
    let server = Mailchimp::start();
    for n in 0..12 {
        server.add_list(&format!("list{n:02}"), "Audience");
    }
    server.add_member("list03", NewMember::subscribed(ANNA));
    server.set_delay(Duration::from_millis(25));
    server
}

#[test]
fn the_connector_never_opens_more_than_max_connections_at_once() {
    let server = busy_account();
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["page_size"] = 1000.into();
    let connector = open_settings(&s).unwrap();
    // Four of gallra's threads at once, each reading twelve audiences in parallel.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let found = connector.lookup(&by_email(ANNA)).unwrap();
                assert_eq!(found.records.len(), 1);
            });
        }
    });
    assert_eq!(server.throttled(), 0, "no 429: the gate kept within 10");
    let most = server.most_in_flight();
    assert!(
        (2..=10).contains(&most),
        "{most} at once: in parallel, within the limit"
    );
}

#[test]
fn a_storm_of_429s_without_retry_after_slows_down_but_succeeds() {
    let server = busy_account();
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["page_size"] = 1000.into();
    s["max_connections"] = 30.into();
    s["http"]["max_retries"] = 12.into();
    let connector = open_settings(&s).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let found = connector.lookup(&by_email(ANNA)).unwrap();
                assert_eq!(found.records.len(), 1);
            });
        }
    });
    assert!(
        server.throttled() > 0,
        "more than 10 at once is answered 429"
    );
    assert!(server.most_in_flight() <= 10);
}

#[test]
fn too_many_429s_is_transient_with_no_personal_data() {
    let server = busy_account();
    server.set_max_connections(0);
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["http"]["max_retries"] = 2.into();
    let error = open_settings(&s)
        .unwrap()
        .lookup(&by_email(ANNA))
        .unwrap_err();
    assert_transient(&error, &[ANNA, "anna.svensson"]);
    assert!(error.to_string().contains("429"), "{error}");
}
