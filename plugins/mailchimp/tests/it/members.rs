//! Lookup, erase and restrict against the testkit's Mailchimp: every audience is read,
//! erasure is the permanent delete (never the archiving DELETE), and restricting means
//! unsubscribing.

use gallra_plugin_api::http::{HttpClient, HttpSettings, Method};
use gallra_plugin_api::{Connector, ConnectorError, EraseOutcome};
use gallra_plugin_mailchimp::subscriber_hash;
use serde_json::json;

use crate::support::*;

const ANNA: &str = "anna.svensson@example.se";

/// Anna subscribed in list0, pending in list2, archived in list3, hidden from search in
/// list5; a neighbour address in list1.
fn seeded() -> Mailchimp {
    let server = Mailchimp::start();
    with_audiences(&server);
    server.add_member("list0", NewMember::subscribed(ANNA).field("FNAME", "Anna"));
    server.add_member("list2", NewMember::subscribed(ANNA).status("pending"));
    server.add_member("list3", NewMember::subscribed(ANNA).status("archived"));
    server.add_member("list5", NewMember::subscribed(ANNA));
    server.hide_from_search("list5", ANNA);
    server.add_member("list1", NewMember::subscribed(&format!("maj.{ANNA}")));
    server
}

#[test]
fn lookup_reads_the_member_in_every_audience_not_just_what_search_shows() {
    let server = seeded();
    let secrets = Secrets::new();
    let found = open(&server, &secrets).lookup(&by_email(ANNA)).unwrap();
    let mut lists: Vec<String> = found.records.iter().map(|r| r.collection.clone()).collect();
    lists.sort();
    assert_eq!(
        lists,
        ["list0", "list2", "list3", "list5"].map(|l| format!("lists/{l}/members"))
    );
    assert!(found.records.iter().all(|r| r.key == subscriber_hash(ANNA)));
    let requests = server.requests();
    let pages = requests.iter().filter(|r| *r == "GET /3.0/lists").count();
    assert_eq!(pages, 4, "seven audiences in pages of two");
    assert!(requests.contains(&"GET /3.0/search-members".to_owned()));
}

#[test]
fn erase_deletes_permanently_in_every_audience_and_never_merely_archives() {
    let server = seeded();
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let subject = by_email(ANNA);
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 4 }
    );
    for list in ["list0", "list2", "list3", "list5"] {
        assert_eq!(server.member_status(list, ANNA), None, "{list}");
        assert!(server.is_forgotten(list, ANNA), "{list}");
    }
    assert!(!server.holds_email(ANNA));
    assert!(
        server.holds_email(&format!("maj.{ANNA}")),
        "the neighbour stays"
    );
    assert!(
        !server.requests().iter().any(|r| r.starts_with("DELETE")),
        "DELETE only archives"
    );
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 },
        "erasing again finds nothing and succeeds"
    );
}

#[test]
fn a_permanently_deleted_address_cannot_be_added_again() {
    let server = seeded();
    let secrets = Secrets::new();
    open(&server, &secrets).erase(&by_email(ANNA)).unwrap();
    // What an import or a sign-up integration would do next.
    let client = HttpClient::new("test", &HttpSettings::default()).unwrap();
    let error = client
        .request(
            Method::POST,
            &format!("{}/lists/list0/members", server.base_url()),
        )
        .endpoint("POST /lists/{list_id}/members")
        .basic_auth("anyone", Some(API_KEY))
        .json(&json!({"email_address": ANNA, "status": "subscribed"}))
        .send()
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert_eq!(server.member_status("list0", ANNA), None);
}

#[test]
fn restrict_unsubscribes_everywhere_the_person_could_still_be_mailed() {
    let server = seeded();
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    connector.restrict(&by_email(ANNA), true).unwrap();
    assert_eq!(
        server.member_status("list0", ANNA).as_deref(),
        Some("unsubscribed")
    );
    assert_eq!(
        server.member_status("list2", ANNA).as_deref(),
        Some("unsubscribed")
    );
    assert_eq!(
        server.member_status("list5", ANNA).as_deref(),
        Some("unsubscribed")
    );
    assert_eq!(
        server.member_status("list3", ANNA).as_deref(),
        Some("archived"),
        "an archived member is mailed nothing and left as it is"
    );
    assert_eq!(
        server
            .member_status("list1", &format!("maj.{ANNA}"))
            .as_deref(),
        Some("subscribed")
    );
    // Restricting again changes nothing and succeeds.
    connector.restrict(&by_email(ANNA), true).unwrap();
}

#[test]
fn lifting_a_restriction_is_refused_because_resubscribing_needs_consent() {
    let server = seeded();
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    connector.restrict(&by_email(ANNA), true).unwrap();
    match connector.restrict(&by_email(ANNA), false) {
        Err(ConnectorError::Refused {
            reason,
            legal_basis,
        }) => {
            assert!(reason.contains("consent"), "{reason}");
            assert!(legal_basis.unwrap().contains("Art. 21"));
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert_eq!(
        server.member_status("list0", ANNA).as_deref(),
        Some("unsubscribed")
    );
    connector
        .restrict(&by_email("nobody@example.se"), false)
        .expect("nothing to lift for someone in no audience");
}

#[test]
fn export_holds_each_membership_with_its_merge_fields() {
    let server = seeded();
    let secrets = Secrets::new();
    let export = open(&server, &secrets).export(&by_email(ANNA)).unwrap();
    let of = |list: &str, field: &str| {
        export
            .fields
            .iter()
            .find(|f| f.collection == format!("lists/{list}/members") && f.field == field)
            .and_then(|f| f.value.clone())
    };
    assert_eq!(of("list0", "merge_fields.FNAME").as_deref(), Some("Anna"));
    assert_eq!(of("list2", "status").as_deref(), Some("pending"));
    assert_eq!(of("list3", "status").as_deref(), Some("archived"));
    assert_eq!(of("list5", "email_address").as_deref(), Some(ANNA));
    assert!(of("list0", "timestamp_signup").is_some());
    assert!(of("list0", "last_changed").is_some());
}
