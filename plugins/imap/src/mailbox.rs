//! The work inside one mailbox: find a subject's messages, find messages past a cutoff, and
//! remove exactly a set of UIDs.
//!
//! Searches on the server only narrow things down: IMAP matches substrings and compares
//! dates by day, so every candidate is fetched and checked here before it counts.

use std::collections::HashSet;

use gallra_plugin_api::jiff::Timestamp;

use crate::client::Conn;
use crate::config::Clock;
use crate::error::ImapError;
use crate::header::Message;
use crate::{mutf7, query};

/// UID set parts per command, so no command line grows past what servers accept.
const SET_PARTS: usize = 200;

/// What the envelope-based checks fetch.
const ENVELOPE: &str = "(UID ENVELOPE INTERNALDATE RFC822.SIZE)";

/// Opens `mailbox` read-only (`EXAMINE`) or for changes (`SELECT`).
pub fn open(conn: &mut Conn, mailbox: &str, write: bool) -> Result<(), ImapError> {
    let wire = mutf7::encode(mailbox);
    let (command, result) = if write {
        ("SELECT", conn.session.select(&wire).map(drop))
    } else {
        ("EXAMINE", conn.session.examine(&wire).map(drop))
    };
    result.map_err(|e| match ImapError::from_imap(command, true, e) {
        ImapError::Refused {
            detail, transient, ..
        } => ImapError::Mailbox {
            mailbox: mailbox.to_owned(),
            detail: detail.unwrap_or_default(),
            transient,
        },
        other => other,
    })
}

/// The messages of the open mailbox that have one of `emails` (lower-cased) in From, To,
/// Cc or Bcc.
pub fn involving(conn: &mut Conn, emails: &[String]) -> Result<Vec<Message>, ImapError> {
    let criteria = query::addressed_to_or_from(emails, conn.literal_plus)?;
    let candidates = search(conn, &criteria)?;
    let mut messages = fetch(conn, &candidates, ENVELOPE)?;
    messages.retain(|m| m.involves(emails));
    Ok(messages)
}

/// The UIDs of the open mailbox's messages whose `clock` is strictly before `cutoff`.
/// Messages whose date cannot be read are kept (not returned); their count is the second
/// value.
pub fn older_than(
    conn: &mut Conn,
    clock: Clock,
    cutoff: Timestamp,
) -> Result<(Vec<u32>, usize), ImapError> {
    let day = query::date(query::candidate_day(cutoff));
    let (criteria, attributes) = match clock {
        Clock::Internal => (format!("BEFORE {day}"), "(UID INTERNALDATE)"),
        Clock::Sent => (format!("SENTBEFORE {day}"), "(UID ENVELOPE)"),
    };
    let candidates = search(conn, &criteria)?;
    let messages = fetch(conn, &candidates, attributes)?;
    let mut unreadable = 0;
    let mut expired = Vec::new();
    for message in messages {
        let at = match clock {
            Clock::Internal => message.internal_date,
            Clock::Sent => message.sent(),
        };
        match at {
            Some(at) if at < cutoff => expired.push(message.uid),
            Some(_) => {}
            None => unreadable += 1,
        }
    }
    Ok((expired, unreadable))
}

/// Removes exactly `uids` from the mailbox open for changes: `UID STORE +FLAGS.SILENT
/// (\Deleted)` then `UID EXPUNGE` of the same UIDs — never a plain `EXPUNGE`, which would
/// also remove what others marked deleted — and checks they are gone.
pub fn remove(conn: &mut Conn, mailbox: &str, uids: &[u32]) -> Result<u64, ImapError> {
    if uids.is_empty() {
        return Ok(0);
    }
    if !conn.uidplus {
        return Err(ImapError::NoUidPlus);
    }
    for set in query::uid_sets(uids, SET_PARTS) {
        conn.session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|e| ImapError::from_imap("UID STORE", false, e))?;
        conn.session
            .uid_expunge(&set)
            .map_err(|e| ImapError::from_imap("UID EXPUNGE", false, e))?;
    }
    let mut left = 0;
    for set in query::uid_sets(uids, SET_PARTS) {
        left += search(conn, &format!("UID {set}"))?.len();
    }
    if left > 0 {
        return Err(ImapError::NotRemoved {
            mailbox: mailbox.to_owned(),
            count: left,
        });
    }
    Ok(uids.len() as u64)
}

fn search(conn: &mut Conn, criteria: &str) -> Result<Vec<u32>, ImapError> {
    let uids = conn
        .session
        .uid_search(criteria)
        .map_err(|e| ImapError::from_imap("UID SEARCH", false, e))?;
    let mut uids: Vec<u32> = uids.into_iter().collect();
    uids.sort_unstable();
    Ok(uids)
}

/// Fetches `attributes` of `uids`, ignoring FETCH answers about other messages (a server
/// may tell of flag changes made elsewhere).
fn fetch(conn: &mut Conn, uids: &[u32], attributes: &str) -> Result<Vec<Message>, ImapError> {
    let wanted: HashSet<u32> = uids.iter().copied().collect();
    let mut messages = Vec::with_capacity(uids.len());
    for set in query::uid_sets(uids, SET_PARTS) {
        let fetches = conn
            .session
            .uid_fetch(&set, attributes)
            .map_err(|e| ImapError::from_imap("UID FETCH", false, e))?;
        messages.extend(
            fetches
                .iter()
                .filter_map(Message::from_fetch)
                .filter(|m| wanted.contains(&m.uid)),
        );
    }
    messages.sort_by_key(|m| m.uid);
    messages.dedup_by_key(|m| m.uid);
    Ok(messages)
}
