//! Record-level retention against a real Dovecot: `expire` counts, or removes, exactly the
//! messages whose clock (internal date, or the `Date:` header) is strictly before the
//! cutoff, in the kind's mailboxes.

use crate::support::{open, Account};
use gallra_plugin_api::{Connector, ExpireRequest, ExpireResult};
use gallra_plugin_imap::ImapConnector;
use serde_json::json;

use crate::support::imap::Message;

const CUTOFF: &str = "2024-01-01T00:00:00Z";

fn request(kind: &str, dry_run: bool) -> ExpireRequest {
    ExpireRequest {
        kind: kind.to_owned(),
        cutoff: CUTOFF.parse().unwrap(),
        dry_run,
    }
}

fn mail(subject: &str, at: &str) -> Message {
    Message::new("someone@example.se", "support@shop.se", subject, at)
}

/// Seeds messages around the cutoff; returns the UIDs that must survive in INBOX and Sent.
fn seed(account: &Account) -> (Vec<u32>, Vec<u32>) {
    account.append("INBOX", &mail("old", "2020-05-05T10:00:00Z"));
    account.append("INBOX", &mail("last second", "2023-12-31T23:59:59Z"));
    let inbox_keep = vec![
        // Exactly at the cutoff is not before it.
        account.append("INBOX", &mail("at cutoff", CUTOFF)),
        // The same day as the cutoff, which a day-based IMAP search also returns.
        account.append("INBOX", &mail("same day", "2024-01-01T10:00:00Z")),
        // Written long ago, but received now: the internal clock keeps it.
        account.append(
            "INBOX",
            &mail("migrated", "2019-01-01T10:00:00Z").received("2024-06-01T10:00:00Z"),
        ),
    ];
    account.append("Sent", &mail("old sent", "2019-02-02T10:00:00Z"));
    let sent_keep = vec![account.append("Sent", &mail("new sent", "2024-02-02T10:00:00Z"))];
    (inbox_keep, sent_keep)
}

fn connector(account: &Account, kinds: serde_json::Value) -> ImapConnector {
    open(&account.settings(&["INBOX", "Sent"], json!({ "record_kinds": kinds }))).expect("open")
}

#[test]
fn a_dry_run_counts_what_is_past_the_cutoff_and_removes_nothing() {
    let Some(account) = Account::new() else {
        return;
    };
    seed(&account);
    let connector = connector(&account, json!({"old_mail": {"clock": "internal"}}));
    assert_eq!(
        connector.expire(&request("old_mail", true)).unwrap(),
        ExpireResult {
            matched: 3,
            removed: 0
        }
    );
    assert_eq!(account.dovecot.count("INBOX"), 5);
    assert_eq!(account.dovecot.count("Sent"), 2);
}

#[test]
fn expire_removes_only_messages_received_before_the_cutoff() {
    let Some(account) = Account::new() else {
        return;
    };
    let (inbox_keep, sent_keep) = seed(&account);
    // A message someone else marked deleted, received after the cutoff, stays too.
    account.dovecot.flag_deleted("INBOX", inbox_keep[1]);
    let connector = connector(&account, json!({"old_mail": {}}));
    assert_eq!(
        connector.expire(&request("old_mail", false)).unwrap(),
        ExpireResult {
            matched: 3,
            removed: 3
        }
    );
    assert_eq!(account.dovecot.uids("INBOX"), inbox_keep);
    assert_eq!(account.dovecot.uids("Sent"), sent_keep);
    // Nothing is left to expire.
    assert_eq!(
        connector.expire(&request("old_mail", false)).unwrap(),
        ExpireResult::default()
    );
}

#[test]
fn a_kind_covers_only_its_own_mailboxes() {
    let Some(account) = Account::new() else {
        return;
    };
    seed(&account);
    let connector = connector(&account, json!({"old_sent": {"mailboxes": ["Sent"]}}));
    assert_eq!(
        connector.expire(&request("old_sent", false)).unwrap(),
        ExpireResult {
            matched: 1,
            removed: 1
        }
    );
    assert_eq!(account.dovecot.count("INBOX"), 5);
    assert_eq!(account.dovecot.count("Sent"), 1);
}

#[test]
fn the_sent_clock_reads_the_date_header_and_keeps_what_it_cannot_read() {
    let Some(account) = Account::new() else {
        return;
    };
    seed(&account);
    let unreadable = account.append(
        "Sent",
        &mail("no date", "2018-01-01T10:00:00Z").date_header("sometime last year"),
    );
    let connector = connector(&account, json!({"written": {"clock": "sent"}}));
    // By Date: header: "old", "last second", "migrated" (written 2019) and "old sent".
    assert_eq!(
        connector.expire(&request("written", false)).unwrap(),
        ExpireResult {
            matched: 4,
            removed: 4
        }
    );
    assert_eq!(account.dovecot.count("INBOX"), 2);
    assert!(account.dovecot.uids("Sent").contains(&unreadable));
}

#[test]
fn describe_lists_the_record_kinds_and_claims_expire_only_with_them() {
    let Some(account) = Account::new() else {
        return;
    };
    use gallra_plugin_api::Capability;
    let with = connector(&account, json!({"a": {}, "b": {"clock": "sent"}})).describe();
    assert_eq!(with.record_kinds, vec!["a", "b"]);
    assert!(with.capabilities.contains(&Capability::Expire));
    let without = connector(&account, json!({})).describe();
    assert!(!without.capabilities.contains(&Capability::Expire));
    assert!(without.record_kinds.is_empty());
}
