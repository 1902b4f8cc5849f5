//! Against a real Dovecot: the subject's messages are found, exported and removed across
//! mailboxes — exactly those, and nothing a substring search or a plain EXPUNGE would add.

use std::collections::BTreeSet;

use crate::support::{by_email, Account, BYSTANDER, SUBJECT};
use gallra_plugin_api::{Connector, EraseOutcome, Identifier, Subject};

use crate::support::imap::Message;

const BOTH: [&str; 2] = ["INBOX", "Sent"];

fn keys(records: &[gallra_plugin_api::RecordRef]) -> BTreeSet<(String, String)> {
    records
        .iter()
        .map(|r| (r.collection.clone(), r.key.clone()))
        .collect()
}

fn expected(mailbox: &str, uids: &[u32]) -> Vec<(String, String)> {
    uids.iter()
        .map(|u| (mailbox.to_owned(), u.to_string()))
        .collect()
}

#[test]
fn lookup_finds_mail_from_and_to_the_subject_in_every_mailbox_and_nothing_else() {
    let Some(account) = Account::new() else {
        return;
    };
    let seeded = account.seed();
    let connector = account.connector(&BOTH);

    let found = connector.lookup(&by_email(SUBJECT)).expect("lookup");
    let mut want = expected("INBOX", &seeded.inbox_subject);
    want.extend(expected("Sent", &seeded.sent_subject));
    assert_eq!(keys(&found.records), want.into_iter().collect());

    // The bystander is found on their own, and the subject's mail is not theirs.
    let bystander = connector.lookup(&by_email(BYSTANDER)).expect("lookup");
    let mut want = expected("INBOX", &seeded.inbox_others[..1]);
    want.extend(expected("Sent", &seeded.sent_others));
    assert_eq!(keys(&bystander.records), want.into_iter().collect());
}

#[test]
fn lookup_of_someone_without_mail_is_empty() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&BOTH);
    let found = connector
        .lookup(&by_email("nobody@example.se"))
        .expect("lookup");
    assert!(found.records.is_empty(), "{:?}", found.records);
}

#[test]
fn export_lists_exactly_the_subjects_messages_with_their_headers() {
    let Some(account) = Account::new() else {
        return;
    };
    let seeded = account.seed();
    let connector = account.connector(&BOTH);

    let export = connector.export(&by_email(SUBJECT)).expect("export");
    let records: BTreeSet<(String, String)> = export
        .fields
        .iter()
        .map(|f| (f.collection.clone(), f.record.clone()))
        .collect();
    let mut want = expected("INBOX", &seeded.inbox_subject);
    want.extend(expected("Sent", &seeded.sent_subject));
    assert_eq!(records, want.into_iter().collect());

    let field = |record: u32, name: &str| {
        export
            .fields
            .iter()
            .find(|f| f.record == record.to_string() && f.field == name)
            .and_then(|f| f.value.clone())
    };
    let first = seeded.inbox_subject[0];
    assert_eq!(
        field(first, "from").as_deref(),
        Some("Anna Svensson <Anna@Example.SE>")
    );
    assert_eq!(field(first, "to").as_deref(), Some("support@shop.se"));
    assert_eq!(field(first, "cc"), None);
    assert_eq!(field(first, "subject").as_deref(), Some("Order 1"));
    assert_eq!(
        field(first, "date").as_deref(),
        Some("1 Mar 2024 10:00:00 +0000")
    );
    assert_eq!(
        field(first, "internal_date").as_deref(),
        Some("2024-03-01T10:00:00Z")
    );
    assert!(field(first, "size").is_some_and(|s| s.parse::<u32>().unwrap() > 100));
    assert_eq!(
        field(seeded.inbox_subject[1], "cc").as_deref(),
        Some(SUBJECT)
    );
    let text = serde_json::to_string(&export).unwrap();
    assert!(!text.contains(BYSTANDER), "the bystander leaked: {text}");
    assert!(!text.contains("joanna"), "a near miss leaked: {text}");
}

#[test]
fn erase_removes_exactly_the_subjects_messages_and_leaves_others_deleted_flags_alone() {
    let Some(account) = Account::new() else {
        return;
    };
    let seeded = account.seed();
    // Someone else's mail client marked the bystander's message \Deleted but has not
    // expunged it: a plain EXPUNGE would take it with the subject's messages.
    let flagged = seeded.inbox_others[0];
    account.dovecot.flag_deleted("INBOX", flagged);
    let connector = account.connector(&BOTH);

    let outcome = connector.erase(&by_email(SUBJECT)).expect("erase");
    assert_eq!(outcome, EraseOutcome::Erased { records: 3 });

    assert_eq!(account.dovecot.uids("INBOX"), seeded.inbox_others);
    assert_eq!(account.dovecot.uids("Sent"), seeded.sent_others);
    assert!(account.dovecot.uids("INBOX").contains(&flagged));
    let froms = account.dovecot.from_headers("INBOX");
    assert!(
        froms.iter().all(|f| !f.eq_ignore_ascii_case(SUBJECT)),
        "{froms:?}"
    );
    assert!(connector
        .lookup(&by_email(SUBJECT))
        .expect("lookup")
        .records
        .is_empty());
}

#[test]
fn erasing_twice_succeeds_with_nothing_left_to_remove() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&BOTH);
    let subject = by_email(SUBJECT);
    assert_eq!(
        connector.erase(&subject).expect("first erase"),
        EraseOutcome::Erased { records: 3 }
    );
    assert_eq!(
        connector.erase(&subject).expect("second erase"),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn a_subject_known_by_two_addresses_is_found_by_both() {
    let Some(account) = Account::new() else {
        return;
    };
    let seeded = account.seed();
    let other = account.append(
        "INBOX",
        &Message::new(
            "anna.private@example.org",
            "support@shop.se",
            "From home",
            "2024-03-02T10:00:00Z",
        ),
    );
    let connector = account.connector(&BOTH);
    let mut subject = by_email(SUBJECT);
    subject
        .identifiers
        .extend(by_email("anna.private@example.org").identifiers);
    let found = connector.lookup(&subject).expect("lookup");
    let mut want = expected("INBOX", &seeded.inbox_subject);
    want.push(("INBOX".into(), other.to_string()));
    want.extend(expected("Sent", &seeded.sent_subject));
    assert_eq!(keys(&found.records), want.into_iter().collect());
}

#[test]
fn a_subject_without_an_email_has_nothing_here() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&BOTH);
    let subject = Subject::new(vec![Identifier::parse(
        gallra_plugin_api::IdentifierKind::Phone,
        "+46701234567",
    )
    .unwrap()]);
    assert!(connector.lookup(&subject).unwrap().records.is_empty());
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn quotes_backslashes_and_literal_markers_in_an_address_cannot_change_the_search() {
    let Some(account) = Account::new() else {
        return;
    };
    let seeded = account.seed();
    // Legal without quoting, and full of IMAP syntax: `'`, a literal marker, wildcards.
    let tricky = "o'brien+{5+}*%@example.se";
    let uid = account.append(
        "INBOX",
        &Message::new(tricky, "support@shop.se", "Tricky", "2024-03-03T10:00:00Z"),
    );
    let connector = account.connector(&BOTH);

    // Attempts to break out of the quoted string find nothing (and certainly not
    // everything), and leave every message in place when erased.
    for attack in [
        r#"x@y.se"ALL"#,
        r#"x@y.se")(ALL"#,
        r#"x@y.se\"#,
        r#"a"@example.se"#,
        r#"x@y.se"}{5+}"#,
    ] {
        let found = connector.lookup(&by_email(attack)).expect(attack);
        assert!(found.records.is_empty(), "{attack}: {:?}", found.records);
        assert_eq!(
            connector.erase(&by_email(attack)).expect(attack),
            EraseOutcome::Erased { records: 0 }
        );
    }
    assert_eq!(account.dovecot.count("INBOX"), 5);
    assert_eq!(account.dovecot.count("Sent"), 2);

    // An address that really holds IMAP syntax is found, and only it.
    let found = connector.lookup(&by_email(tricky)).expect("lookup");
    assert_eq!(
        keys(&found.records),
        [("INBOX".to_owned(), uid.to_string())].into()
    );
    let _ = seeded;
}

#[test]
fn line_breaks_in_an_identifier_are_refused_without_echoing_it() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&BOTH);
    // Only a host that skips validation could send this; the connector refuses it anyway.
    let raw = Subject::new(vec![Identifier::Email(
        "x@y.se\r\nA1 DELETE INBOX".to_owned(),
    )]);
    let error = connector.erase(&raw).expect_err("refused");
    assert!(!error.is_transient());
    crate::support::assert_no_pii(&error, &["x@y.se", "DELETE"]);
    assert_eq!(account.dovecot.count("INBOX"), 4);
}

#[test]
fn non_ascii_addresses_and_mailbox_names_work() {
    let Some(account) = Account::new() else {
        return;
    };
    // "Skräppost" on the wire, in IMAP's modified UTF-7.
    let uid = account.append(
        "Skr&AOQ-ppost",
        &Message::new(
            "=?UTF-8?Q?=C3=85sa?= <åsa@exempel.se>",
            "support@shop.se",
            "=?UTF-8?Q?Fr=C3=A5ga?=",
            "2024-03-01T10:00:00Z",
        ),
    );
    let connector = account.connector(&["INBOX", "Skräppost"]);
    let export = connector
        .export(&by_email("åsa@exempel.se"))
        .expect("export");
    let value = |name: &str| {
        export
            .fields
            .iter()
            .find(|f| f.field == name)
            .and_then(|f| f.value.clone())
    };
    assert_eq!(export.fields[0].collection, "Skräppost");
    assert_eq!(export.fields[0].record, uid.to_string());
    assert_eq!(value("from").as_deref(), Some("Åsa <åsa@exempel.se>"));
    assert_eq!(value("subject").as_deref(), Some("Fråga"));
    assert_eq!(
        connector.erase(&by_email("åsa@exempel.se")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert_eq!(account.dovecot.count("Skr&AOQ-ppost"), 0);
}
