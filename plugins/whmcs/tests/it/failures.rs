//! Wrong credentials, an unreachable site, 429 answers and the request rate.

use std::time::{Duration, Instant};

use gallra_plugin_api::{Connector, ConnectorError};

use crate::support::{
    anna, assert_no_personal_data, busiest, customer, email, open_settings, settings,
    unreachable_settings, Whmcs,
};

#[test]
fn a_wrong_secret_is_permanent_and_names_the_settings_with_200_or_403() {
    for as_403 in [false, true] {
        let server = Whmcs::start();
        server.add_client(anna());
        if as_403 {
            server.auth_failure_as_403();
        }
        let mut s = settings(&server);
        s["secret_file"] = server
            .wrong_secret_file()
            .to_string_lossy()
            .into_owned()
            .into();
        let connector = open_settings(&s).unwrap();
        let err = connector
            .lookup(&email("annika.lindqvist@example.se"))
            .unwrap_err();
        let ConnectorError::Permanent { message } = &err else {
            panic!("{err:?}");
        };
        if as_403 {
            assert!(message.contains("check the credentials"), "{message}");
        } else {
            assert!(
                message.contains("secret_file") && message.contains("identifier"),
                "{message}"
            );
        }
        assert_no_personal_data(&err);
        assert!(connector.health().is_err());
    }
}

#[test]
fn an_unreachable_site_is_transient_for_every_operation() {
    let server = Whmcs::start();
    let connector = open_settings(&unreachable_settings(&server)).unwrap();
    let subject = email("annika.lindqvist@example.se");
    let errors = [
        connector.lookup(&subject).unwrap_err(),
        connector.erase(&subject).unwrap_err(),
        connector.status(&subject).unwrap_err(),
        connector.health().unwrap_err(),
    ];
    for err in errors {
        assert!(err.is_transient(), "{err:?}");
        assert_no_personal_data(&err);
    }
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.answer_next(2, 429, Some("1"));
    let connector = open_settings(&settings(&server)).unwrap();
    let started = Instant::now();
    assert_eq!(connector.lookup(&customer(id)).unwrap().records.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

#[test]
fn a_storm_of_429s_without_retry_after_slows_down_but_succeeds() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.answer_next(5, 429, None);
    server.answer_next(1, 503, None);
    let mut s = settings(&server);
    s["http"]["max_retries"] = 8.into();
    let connector = open_settings(&s).unwrap();
    assert_eq!(connector.lookup(&customer(id)).unwrap().records.len(), 1);
    let log = server.requests();
    assert_eq!(log.len(), 7);
    // Backoff grows: the last wait is longer than the first.
    let first = log[1].at - log[0].at;
    let last = log[6].at - log[5].at;
    assert!(last > first, "{first:?} then {last:?}");
}

#[test]
fn exhausted_retries_are_transient_with_the_wait_asked_for() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.answer_next(10, 429, Some("120"));
    let connector = open_settings(&settings(&server)).unwrap();
    let err = connector.lookup(&customer(id)).unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Transient {
                retry_after_secs: Some(120),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn rate_per_sec_is_never_exceeded_in_any_second() {
    let server = Whmcs::start();
    server.set_max_page(1);
    for n in 0..4 {
        let mut client = anna();
        client.email = format!("kund{n}@example.se");
        server.add_client(client);
    }
    let mut s = settings(&server);
    s["http"]["rate_per_sec"] = 5.into();
    let connector = open_settings(&s).unwrap();
    // 4 pages of 1 client: 4 × (GetClients + GetClientsDetails + GetInvoices) = 12
    // requests, then 4 × (GetClientsDetails + GetInvoices) for status.
    let mut cursor = None;
    loop {
        let page = connector
            .scan(gallra_plugin_api::ScanRequest { cursor, limit: 1 })
            .unwrap();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for n in 0..4 {
        connector
            .status(&email(&format!("kund{n}@example.se")))
            .unwrap();
    }
    let arrivals: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(arrivals.len(), 20);
    // A little under a second, for the jitter between the client's and server's clocks.
    assert!(busiest(&arrivals, Duration::from_millis(950)) <= 5);
}
