//! The account source's rules: `scan` pages that end, hold what was asked and add up, in
//! one order whatever the page size, and keys that find the subject again.

use std::collections::HashSet;

use crate::identifiers::{Identifier, IdentifierKind};
use crate::messages::{Call, Reply, ScanRequest, Subject, SubjectRecord};

use super::suite::Suite;
use super::{kind_of, violated, ConformanceSystem};

/// The page sizes of the full scans compared: everything in one page (as far as the
/// connector gives it), then pages of one and of two subjects, so that a seeded system with
/// a handful of subjects spans several pages.
const LIMITS: [u32; 3] = [1000, 1, 2];

/// More pages than any seeded system fills: a scan still going after this many loops.
const MAX_PAGES: usize = 10_000;

impl<S: ConformanceSystem> Suite<'_, S> {
    /// Scans the whole system in pages of each of [`LIMITS`]; returns the first scan.
    pub(super) fn scans(&mut self, connector: &S::Connector) -> Vec<SubjectRecord> {
        let first = self.full_scan(connector, LIMITS[0]);
        let keys = |records: &[SubjectRecord]| -> Vec<String> {
            records.iter().map(|r| r.key.clone()).collect()
        };
        for limit in &LIMITS[1..] {
            let again = self.full_scan(connector, *limit);
            if keys(&again) != keys(&first) {
                violated(
                    "scan-stable",
                    format!(
                        "a scan in pages of {limit} listed {} subjects, another set or in \
                         another order than the {} of a scan in pages of {}: the order must \
                         be one stable key order, and a cursor must go on exactly after the \
                         last subject of its page",
                        again.len(),
                        first.len(),
                        LIMITS[0]
                    ),
                );
            }
        }
        first
    }

    /// One scan from the first page to the last, asking `limit` subjects a page.
    fn full_scan(&self, connector: &S::Connector, limit: u32) -> Vec<SubjectRecord> {
        let mut records: Vec<SubjectRecord> = Vec::new();
        let mut totals = Vec::new();
        let mut cursor: Option<String> = None;
        let mut cursors = HashSet::new();
        for page in 1.. {
            if page > MAX_PAGES {
                violated(
                    "scan-ends",
                    format!("a scan in pages of {limit} did not end after {MAX_PAGES} pages"),
                );
            }
            let request = ScanRequest {
                cursor: cursor.clone(),
                limit,
            };
            let found = match self.call(connector, Call::Scan(request)) {
                Ok(Reply::ScanPage(found)) => found,
                Ok(other) => violated("describe", format!("scan answered {}", kind_of(&other))),
                Err(e) => violated(
                    "scan-ends",
                    format!("page {page} of a scan in pages of {limit} failed: {e}"),
                ),
            };
            if found.subjects.len() > limit as usize {
                violated(
                    "scan-limit",
                    format!(
                        "page {page} of a scan in pages of {limit} holds {} subjects",
                        found.subjects.len()
                    ),
                );
            }
            if found.subjects.is_empty() && found.next_cursor.is_some() {
                violated(
                    "scan-ends",
                    format!(
                        "page {page} of a scan in pages of {limit} is empty but hands on a \
                         cursor (only the last page may be empty; gallra takes this for a \
                         broken read)"
                    ),
                );
            }
            totals.extend(found.total);
            records.extend(found.subjects);
            match found.next_cursor {
                None => break,
                Some(next) if !cursors.insert(next.clone()) => violated(
                    "scan-ends",
                    format!(
                        "page {page} of a scan in pages of {limit} hands on a cursor an \
                         earlier page handed on: the scan goes round in a circle"
                    ),
                ),
                Some(next) => cursor = Some(next),
            }
        }
        let mut keys = HashSet::new();
        if let Some(n) = records.iter().position(|r| !keys.insert(&r.key)) {
            violated(
                "scan-stable",
                format!(
                    "a scan in pages of {limit} lists the key of its subject #{} twice",
                    n + 1
                ),
            );
        }
        if let Some(total) = totals.iter().find(|t| **t != records.len() as u64) {
            violated(
                "scan-total",
                format!(
                    "a scan in pages of {limit} says it holds {total} subjects, but its pages \
                     hold {}",
                    records.len()
                ),
            );
        }
        records
    }

    /// Every seeded person the scan lists is found again by their key alone, as a
    /// `customer_id`, and only their records are: gallra hands the key back so.
    pub(super) fn scan_key_resolves(
        &mut self,
        connector: &S::Connector,
        scanned: &[SubjectRecord],
    ) {
        const RULE: &str = "scan-key-resolves";
        if !self
            .description()
            .identifier_kinds
            .contains(&IdentifierKind::CustomerId)
        {
            violated(
                RULE,
                "the connector scans but does not claim the customer_id identifier kind: gallra \
                 finds a scanned subject again by its key, as a customer_id",
            );
        }
        for (who, name) in [(self.subject, "subject"), (self.bystander, "bystander")] {
            let theirs = records_of(scanned, who);
            if theirs.is_empty() {
                violated(
                    RULE,
                    format!(
                        "the scan does not list the {name} (no record has one of its \
                         identifiers, or one of its customer ids as key)"
                    ),
                );
            }
            let own = match self.lookup(connector, who) {
                Ok(found) => found.records,
                Err(e) => violated(RULE, format!("lookup of the {name} failed: {e}")),
            };
            for record in theirs {
                let by_key = by_key(record).unwrap_or_else(|| {
                    violated(
                        RULE,
                        format!("the {name}'s key in the scan is not a valid customer_id"),
                    )
                });
                match self.lookup(connector, &by_key) {
                    Ok(found) if found.records.is_empty() => violated(
                        RULE,
                        format!(
                            "lookup by the {name}'s key in the scan, alone as a customer_id, \
                             found nothing"
                        ),
                    ),
                    Ok(found) if found.records.iter().any(|r| !own.contains(r)) => violated(
                        RULE,
                        format!(
                            "lookup by the {name}'s key in the scan, as a customer_id, found \
                             records that lookup by the {name}'s identifiers does not"
                        ),
                    ),
                    Ok(_) => {}
                    Err(e) => violated(
                        RULE,
                        format!("lookup by the {name}'s key in the scan failed: {e}"),
                    ),
                }
            }
        }
    }
}

/// The records of `scanned` that are `who`'s: sharing one of its identifiers, or keyed by
/// one of its customer ids.
pub(super) fn records_of<'r>(
    scanned: &'r [SubjectRecord],
    who: &Subject,
) -> Vec<&'r SubjectRecord> {
    scanned
        .iter()
        .filter(|record| {
            record
                .identifiers
                .iter()
                .any(|i| who.identifiers.contains(i))
                || who
                    .of_kind(IdentifierKind::CustomerId)
                    .any(|id| id.value() == record.key)
        })
        .collect()
}

/// The subject gallra asks a system about when all it has is the scanned key.
pub(super) fn by_key(record: &SubjectRecord) -> Option<Subject> {
    let id = Identifier::parse(IdentifierKind::CustomerId, &record.key).ok()?;
    Some(Subject::new(vec![id]))
}
