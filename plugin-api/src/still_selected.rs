//! The facts that selected a subject for erasure, handed with the account source's erase so
//! that the connector can check them again in the same transaction as the delete.
//!
//! gallra decides again just before erasing a subject, but a customer can log in between that
//! check and the delete. A connector that can (the `sql` connector does) reads the subject's
//! facts inside the erase's own transaction and refuses with [`ConnectorError::Refused`] when
//! [`StillSelected::check`] says they no longer hold; gallra then keeps the subject.
//!
//! [`ConnectorError::Refused`]: crate::ConnectorError::Refused

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::SubjectFacts;

/// What must still be true of the subject, in this system's own facts, for the erase to go
/// ahead. gallra has already found the subject inactive across every system; here only
/// evidence to the contrary counts (an activity time at or after the cutoff, a service, a
/// debt), so a source that holds no activity time for the subject does not block it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StillSelected {
    /// No activity here at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_before: Option<Timestamp>,
    /// The relationship here must have ended strictly before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_before: Option<Timestamp>,
    /// No service here may be active.
    #[serde(default)]
    pub no_active_services: bool,
    /// No invoice here may be unpaid.
    #[serde(default)]
    pub no_unpaid_invoices: bool,
}

impl StillSelected {
    /// `Ok` when `facts` still select the subject, else why not, in words (never a value).
    pub fn check(&self, facts: &SubjectFacts) -> Result<(), String> {
        if let Some(before) = self.inactive_before {
            if facts.last_activity.is_some_and(|last| last >= before) {
                return Err("active since the plan".into());
            }
        }
        if let Some(before) = self.ended_before {
            if facts.relationship_ended.is_none_or(|ended| ended >= before) {
                return Err("its relationship has not ended long enough ago".into());
            }
        }
        if self.no_active_services && facts.active_services.unwrap_or(0) > 0 {
            return Err("has an active service".into());
        }
        if self.no_unpaid_invoices && facts.unpaid_invoices.unwrap_or(0) > 0 {
            return Err("has an unpaid invoice".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn an_erase_goes_ahead_only_while_the_facts_that_selected_the_subject_hold() {
        let cutoff = ts("2026-06-01T00:00:00Z");
        let inactive = StillSelected {
            inactive_before: Some(cutoff),
            no_active_services: true,
            no_unpaid_invoices: true,
            ..StillSelected::default()
        };
        let facts = |last: Option<&str>, services, unpaid| SubjectFacts {
            last_activity: last.map(ts),
            active_services: Some(services),
            unpaid_invoices: Some(unpaid),
            ..SubjectFacts::default()
        };
        let cases = [
            (
                facts(Some("2026-01-01T00:00:00Z"), 0, 0),
                true,
                "still inactive",
            ),
            (
                facts(Some("2026-06-01T00:00:00Z"), 0, 0),
                false,
                "logged in at the cutoff",
            ),
            (
                facts(Some("2026-12-01T00:00:00Z"), 0, 0),
                false,
                "logged in since",
            ),
            (
                facts(None, 0, 0),
                true,
                "no activity time here: gallra decided on the others'",
            ),
            (
                facts(Some("2026-01-01T00:00:00Z"), 1, 0),
                false,
                "a new service",
            ),
            (
                facts(Some("2026-01-01T00:00:00Z"), 0, 1),
                false,
                "a new debt",
            ),
        ];
        for (facts, goes, case) in cases {
            assert_eq!(inactive.check(&facts).is_ok(), goes, "{case}");
        }
        let ended = StillSelected {
            ended_before: Some(cutoff),
            ..StillSelected::default()
        };
        let closed = |at: Option<&str>| SubjectFacts {
            relationship_ended: at.map(ts),
            ..SubjectFacts::default()
        };
        assert!(ended.check(&closed(Some("2026-01-01T00:00:00Z"))).is_ok());
        assert!(ended.check(&closed(Some("2026-07-01T00:00:00Z"))).is_err());
        assert!(ended.check(&closed(None)).is_err(), "reopened");
        assert!(StillSelected::default()
            .check(&SubjectFacts::default())
            .is_ok());
    }

    #[test]
    fn an_older_host_or_plugin_reads_a_subject_without_it() {
        let json = r#"{"identifiers":[]}"#;
        let subject: crate::Subject = serde_json::from_str(json).unwrap();
        assert_eq!(subject.still_selected, None);
        assert_eq!(serde_json::to_string(&subject).unwrap(), json);
    }
}
