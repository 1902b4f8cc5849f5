//! Lookup, export, erase and status against the testkit's Copper.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{Capability, Connector, EraseOutcome};
use gallra_testkit::copper::{Copper, NewPerson, Options};
use gallra_testkit::rate_limit::RateLimit;

use crate::support::{email, open, open_settings, phone, settings, valid_token};

#[test]
fn a_lookup_reads_every_page_of_a_shared_email() {
    // A request counter: the limit is far above what the test sends.
    let counter = RateLimit::per_second(10_000);
    let copper = Copper::start_with(Options {
        rate_limit: Some(counter.clone()),
        ..Options::default()
    });
    let token = valid_token();
    let ids: Vec<u64> = (0..5)
        .map(|n| {
            copper.add_person(NewPerson::named(
                &format!("Family {n}"),
                "family@example.se",
            ))
        })
        .collect();
    copper.add_person(NewPerson::named("Other", "other@example.se"));
    let mut s = settings(&copper.base_url(), &token);
    s["page_size"] = 2.into();
    let crm = open_settings(&s).unwrap();

    let found = crm.lookup(&email("family@example.se")).unwrap();
    let keys: Vec<String> = found.records.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, ids.iter().map(u64::to_string).collect::<Vec<_>>());
    assert_eq!(counter.log().len(), 3, "pages of 2, 2 and 1");

    assert_eq!(
        crm.erase(&email("family@example.se")).unwrap(),
        EraseOutcome::Erased { records: 5 }
    );
    assert_eq!(copper.people_count(), 1);
}

#[test]
fn a_full_last_page_is_followed_by_an_empty_one() {
    let copper = Copper::start();
    let token = valid_token();
    for n in 0..4 {
        copper.add_person(NewPerson::named(&format!("P {n}"), "shared@example.se"));
    }
    let mut s = settings(&copper.base_url(), &token);
    s["page_size"] = 2.into();
    let crm = open_settings(&s).unwrap();
    assert_eq!(
        crm.lookup(&email("shared@example.se"))
            .unwrap()
            .records
            .len(),
        4
    );
}

#[test]
fn phone_lookup_keeps_only_the_same_number() {
    let copper = Copper::start();
    let token = valid_token();
    let anna = copper.add_person(NewPerson {
        phones: vec!["070-123 45 67".to_owned()],
        ..NewPerson::named("Anna", "anna@example.se")
    });
    // Copper's search may match loosely (here: a suffix); this is another line.
    copper.add_person(NewPerson {
        phones: vec!["123 45 67".to_owned()],
        ..NewPerson::named("Bo", "bo@example.se")
    });
    let crm = open(&copper, &token);
    let found = crm.lookup(&phone("+46701234567")).unwrap();
    let keys: Vec<String> = found.records.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys, [anna.to_string()]);
}

#[test]
fn without_phone_lookup_only_email_is_claimed() {
    let copper = Copper::start();
    let token = valid_token();
    copper.add_person(NewPerson {
        phones: vec!["070-123 45 67".to_owned()],
        ..NewPerson::named("Anna", "anna@example.se")
    });
    let mut s = settings(&copper.base_url(), &token);
    s["lookup_by_phone"] = false.into();
    let crm = open_settings(&s).unwrap();
    assert_eq!(
        crm.describe().identifier_kinds,
        [gallra_plugin_api::IdentifierKind::Email]
    );
    assert!(crm
        .lookup(&phone("+46701234567"))
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn erase_twice_succeeds_and_a_person_deleted_meanwhile_is_skipped_by_export() {
    let copper = Copper::start();
    let token = valid_token();
    let id = copper.add_person(NewPerson::named("Anna", "anna@example.se"));
    let crm = open(&copper, &token);
    let anna = email("anna@example.se");
    assert_eq!(
        crm.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert!(!copper.person_exists(id));
    assert_eq!(
        crm.erase(&anna).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert!(crm.export(&anna).unwrap().fields.is_empty());
}

#[test]
fn status_reports_the_latest_contact_or_change_when_asked_to() {
    let copper = Copper::start();
    let token = valid_token();
    copper.add_person(NewPerson {
        date_created: Some(1_600_000_000),
        date_modified: Some(1_650_000_000),
        date_last_contacted: Some(1_700_000_000),
        ..NewPerson::named("Anna", "anna@example.se")
    });
    let plain = open(&copper, &token);
    assert!(!plain.describe().capabilities.contains(&Capability::Status));
    assert!(plain.status(&email("anna@example.se")).is_err());

    let mut s = settings(&copper.base_url(), &token);
    s["activity"] = true.into();
    let crm = open_settings(&s).unwrap();
    let description = crm.describe();
    assert!(description.capabilities.contains(&Capability::Status));
    assert!(description.activity_bearing);
    let facts = crm.status(&email("anna@example.se")).unwrap();
    assert_eq!(
        facts.last_activity,
        Some(Timestamp::from_second(1_700_000_000).unwrap())
    );
    let nobody = crm.status(&email("nobody@example.se")).unwrap();
    assert_eq!(nobody.last_activity, None, "unknown, never \"inactive\"");
}

#[test]
fn health_checks_the_account() {
    let copper = Copper::start();
    let token = valid_token();
    open(&copper, &token).health().unwrap();
}
