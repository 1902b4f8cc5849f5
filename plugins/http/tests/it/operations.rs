//! Lookup in every pagination style, filters the API ignores, request bodies, export,
//! anonymize, status and idempotent erase against the testkit's REST API.

use std::time::{Duration, Instant};

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{Capability, Connector, ConnectorError, EraseOutcome};
use gallra_testkit::rate_limit::RateLimit;
use gallra_testkit::rest::{NewUser, Options, RestApi};
use serde_json::json;

use crate::support::{email, keys, open_settings, phone, settings, valid_token};

fn user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        ..NewUser::default()
    }
}

/// An API with 7 users sharing one email, 1 other, and a request counter in front.
fn shared_email_api() -> (RestApi, RateLimit, Vec<u64>) {
    let counter = RateLimit::per_second(100_000);
    let api = RestApi::start_with(Options {
        rate_limit: Some(counter.clone()),
        ..Options::default()
    });
    let ids = (0..7)
        .map(|n| api.add_user(user("family@example.se", &format!("Member {n}"))))
        .collect();
    api.add_user(user("other@example.se", "Other"));
    (api, counter, ids)
}

#[test]
fn every_pagination_style_reads_all_pages() {
    let styles = [
        json!({"type": "page", "size": 3, "total_pages": "/meta/total_pages"}),
        json!({"type": "page", "size": 3}),
        json!({"type": "offset", "limit": 3, "total": "/meta/total"}),
        json!({"type": "cursor", "next_cursor": "/meta/next_cursor", "cursor_param": "cursor", "size_param": "limit", "size": 3}),
        json!({"type": "cursor", "next_link": "/links/next", "size_param": "limit", "size": 3}),
    ];
    for pagination in styles {
        let (api, counter, ids) = shared_email_api();
        let token = valid_token();
        let mut s = settings(&api, &token);
        s["lookup"][0]["pagination"] = pagination.clone();
        let shop = open_settings(&s).unwrap();
        let mut want: Vec<String> = ids.iter().map(u64::to_string).collect();
        want.sort();
        assert_eq!(
            keys(&shop, &email("family@example.se")),
            want,
            "{pagination}"
        );
        assert_eq!(
            counter.log().len(),
            3,
            "3 pages of 3, 3 and 1: {pagination}"
        );
    }
}

#[test]
fn an_email_with_reserved_characters_reaches_the_api_intact() {
    let api = RestApi::start();
    let token = valid_token();
    let id = api.add_user(user("anna+crm&x=1@example.se", "Anna"));
    api.add_user(user("anna@example.se", "Other Anna"));
    let shop = open_settings(&settings(&api, &token)).unwrap();
    assert_eq!(
        keys(&shop, &email("anna+crm&x=1@example.se")),
        [id.to_string()]
    );
}

#[test]
fn a_filter_the_api_ignores_is_caught_by_match_or_max_records() {
    let api = RestApi::start();
    let token = valid_token();
    let anna = api.add_user(user("anna@example.se", "Anna"));
    api.add_users(20);
    let mut s = settings(&api, &token);
    // The API knows no `mail` parameter and lists everyone.
    s["lookup"][0]["path"] = "/v1/users?mail={email}".into();
    let with_match = open_settings(&s).unwrap();
    assert_eq!(
        keys(&with_match, &email("anna@example.se")),
        [anna.to_string()]
    );

    s["lookup"][0].as_object_mut().unwrap().remove("match");
    s["max_records"] = 10.into();
    let without_match = open_settings(&s).unwrap();
    let error = without_match.erase(&email("anna@example.se")).unwrap_err();
    match &error {
        ConnectorError::Permanent { message } => {
            assert!(message.contains("max_records"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("anna"));
    assert_eq!(api.user_count(), 21, "nothing erased");
}

#[test]
fn a_post_search_with_a_json_body_finds_by_phone() {
    let api = RestApi::start();
    let token = valid_token();
    let anna = api.add_user(NewUser {
        phone: Some("070-123 45 67".to_owned()),
        ..user("anna@example.se", "Anna")
    });
    let mut s = settings(&api, &token);
    s["lookup"][1] = json!({
        "method": "POST", "path": "/v1/users/search", "body": {"phone": "{phone}"},
        "results": "/data", "match": "/phone",
    });
    let shop = open_settings(&s).unwrap();
    assert_eq!(keys(&shop, &phone("+46701234567")), [anna.to_string()]);
}

#[test]
fn export_without_an_export_request_lists_the_lookup_records() {
    let api = RestApi::start();
    let token = valid_token();
    let id = api.add_user(NewUser {
        address: Some(gallra_testkit::rest::Address {
            street: "Storgatan 1".to_owned(),
            city: "Umeå".to_owned(),
        }),
        ..user("anna@example.se", "Anna")
    });
    let mut s = settings(&api, &token);
    s.as_object_mut().unwrap().remove("export");
    let shop = open_settings(&s).unwrap();
    let export = shop.export(&email("anna@example.se")).unwrap();
    let field = |name: &str| {
        export
            .fields
            .iter()
            .find(|f| f.field == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(field("address.city").value.as_deref(), Some("Umeå"));
    assert_eq!(field("phone").value, None);
    assert_eq!(field("id").record, id.to_string());
    assert_eq!(field("id").collection, "users");
}

#[test]
fn anonymize_patches_each_record_and_says_nothing_stays() {
    let api = RestApi::start();
    let token = valid_token();
    let id = api.add_user(NewUser {
        phone: Some("070-123 45 67".to_owned()),
        ..user("anna@example.se", "Anna Lindqvist")
    });
    let shop = open_settings(&settings(&api, &token)).unwrap();
    assert!(shop
        .describe()
        .capabilities
        .contains(&Capability::Anonymize));
    assert_eq!(
        shop.anonymize(&email("anna@example.se")).unwrap(),
        EraseOutcome::Anonymized {
            records: 1,
            retained: None,
            kept: Vec::new()
        }
    );
    let after = api.user(id).unwrap();
    assert_eq!(after.name, "anonymized");
    assert_eq!(after.email, format!("anonymized-{id}@invalid"));
    assert_eq!(after.phone, None);
    assert!(keys(&shop, &email("anna@example.se")).is_empty());
}

#[test]
fn status_reports_the_latest_login() {
    let api = RestApi::start();
    let token = valid_token();
    api.add_user(NewUser {
        last_login: Some("2024-05-01T12:00:00Z".to_owned()),
        phone: Some("+46701234567".to_owned()),
        ..user("anna@example.se", "Anna")
    });
    api.add_user(NewUser {
        last_login: Some("2024-06-01".to_owned()),
        phone: Some("+46701234567".to_owned()),
        ..user("anna.work@example.se", "Anna at work")
    });
    let shop = open_settings(&settings(&api, &token)).unwrap();
    assert!(shop.describe().activity_bearing);
    let facts = shop.status(&email("anna@example.se")).unwrap();
    assert_eq!(
        facts.last_activity,
        Some("2024-05-01T12:00:00Z".parse::<Timestamp>().unwrap())
    );
    let both = shop.status(&phone("+46701234567")).unwrap();
    assert_eq!(
        both.last_activity,
        Some("2024-06-01T00:00:00Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(
        shop.status(&email("nobody@example.se"))
            .unwrap()
            .last_activity,
        None
    );
}

#[test]
fn erase_by_email_and_phone_deletes_each_record_once_and_twice_succeeds() {
    let api = RestApi::start();
    let token = valid_token();
    let a = api.add_user(NewUser {
        phone: Some("070-123 45 67".to_owned()),
        ..user("anna@example.se", "Anna")
    });
    let b = api.add_user(NewUser {
        phone: Some("+46701234567".to_owned()),
        ..user("anna.work@example.se", "Anna at work")
    });
    let keep = api.add_user(user("bo@example.se", "Bo"));
    let shop = open_settings(&settings(&api, &token)).unwrap();
    let mut anna = email("anna@example.se");
    anna.identifiers.extend(phone("+46701234567").identifiers);
    assert_eq!(
        shop.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 2 }
    );
    assert!(!api.user_exists(a) && !api.user_exists(b));
    assert!(api.user_exists(keep));
    assert_eq!(
        shop.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn latency_does_not_serialize_concurrent_requests() {
    let api = RestApi::start_with(Options {
        latency: Duration::from_millis(200),
        ..Options::default()
    });
    let token = valid_token();
    api.add_users(10);
    let s = settings(&api, &token);
    let start = Instant::now();
    let threads: Vec<_> = (1..=10)
        .map(|n| {
            let shop = open_settings(&s).unwrap();
            std::thread::spawn(move || keys(&shop, &email(&format!("user{n}@example.test"))).len())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 1);
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "10 lookups of 200 ms took {took:?}"
    );
}
