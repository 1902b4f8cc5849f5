//! Policy decisions: pure functions of (now, facts, policy) → decision. No I/O here; the
//! runner gathers the facts and carries the decisions out.
//!
//! The rule that runs through all of it: **unknown is never old**. A missing, unreadable or
//! implausible timestamp keeps the subject, with the reason recorded.

pub mod answer;
mod facts;
pub mod hold;
pub mod identifiers;
pub mod retry;
mod safety;
pub mod valves;
mod warning;

use jiff::{Timestamp, Zoned};

use gallra_plugin_api::SubjectFacts;

use crate::duration::CalendarDuration;

pub use facts::merge_facts;
pub use safety::{
    check_clock, check_safety, check_shrink, removal_valves, History, SafetyTrip,
    FIRST_RUN_MAX_FRACTION, MEDIAN_FLOOR,
};
pub use warning::{delete_on, inactivity_with_warning, near_deadline, WarnDecision};

/// Activity before this instant is taken as a broken value (a 1970 default, a zeroed
/// column), not as real inactivity.
pub const PLAUSIBLE_AFTER: Timestamp = Timestamp::constant(946_684_800, 0); // 2000-01-01T00:00:00Z

/// Why a subject was or was not selected. The codes are stable: they are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Selected: no activity anywhere for the policy's duration.
    Inactive,
    /// Selected: the relationship ended longer ago than the policy's duration.
    RelationshipEnded,
    /// Kept: active within the policy's duration.
    RecentlyActive,
    /// Kept: inactive, or will be within `warn_before`, and not yet warned: a warning is due.
    WarningDue,
    /// Kept: warned by email in this run; deleted once the warning period has passed.
    Warned,
    /// Kept: warned earlier; the warning period (or the inactivity itself) has not run out.
    WarningPending,
    /// Kept: a warning was due but could not be sent; it is tried again next run.
    WarningFailed,
    /// Kept: a warning is due but the account source has no email address to send it to.
    NoWarningAddress,
    /// Kept: has active services.
    ActiveServices,
    /// Kept: has unpaid invoices.
    UnpaidInvoices,
    /// Kept: no system reports any activity time; unknown is never old.
    ActivityUnknown,
    /// Kept: the activity time is before 2000 or in the future: a broken value.
    ActivityImplausible,
    /// Kept: an activity-bearing system could not be asked.
    SystemUnavailable,
    /// Kept: the relationship has not ended.
    RelationshipOngoing,
    /// Kept: the relationship ended within the policy's duration.
    RelationshipEndedRecently,
    /// Kept: the account source holds an identifier of the subject it could not read (an
    /// email with a space in it); erasing elsewhere without it could leave data behind while
    /// reporting done, so a person must look.
    IdentifierUnreadable,
    /// Kept: decided again before the run filed its requests, the subject is no longer
    /// selected (a login, a service or a debt since the plan).
    ChangedSincePlan,
}

impl Reason {
    /// Every reason, in display order.
    pub const ALL: [Reason; 17] = [
        Reason::Inactive,
        Reason::RelationshipEnded,
        Reason::RecentlyActive,
        Reason::WarningDue,
        Reason::Warned,
        Reason::WarningPending,
        Reason::WarningFailed,
        Reason::NoWarningAddress,
        Reason::ActiveServices,
        Reason::UnpaidInvoices,
        Reason::ActivityUnknown,
        Reason::ActivityImplausible,
        Reason::SystemUnavailable,
        Reason::RelationshipOngoing,
        Reason::RelationshipEndedRecently,
        Reason::IdentifierUnreadable,
        Reason::ChangedSincePlan,
    ];

    /// The stable code, e.g. `active_services`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Inactive => "inactive",
            Reason::RelationshipEnded => "relationship_ended",
            Reason::RecentlyActive => "recently_active",
            Reason::WarningDue => "warning_due",
            Reason::Warned => "warned",
            Reason::WarningPending => "warning_pending",
            Reason::WarningFailed => "warning_failed",
            Reason::NoWarningAddress => "no_warning_address",
            Reason::ActiveServices => "active_services",
            Reason::UnpaidInvoices => "unpaid_invoices",
            Reason::ActivityUnknown => "activity_unknown",
            Reason::ActivityImplausible => "activity_implausible",
            Reason::SystemUnavailable => "system_unavailable",
            Reason::RelationshipOngoing => "relationship_ongoing",
            Reason::RelationshipEndedRecently => "relationship_ended_recently",
            Reason::IdentifierUnreadable => "identifier_unreadable",
            Reason::ChangedSincePlan => "changed_since_plan",
        }
    }

    /// The reason for a stored code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this reason selects the subject.
    pub fn selects(self) -> bool {
        matches!(self, Reason::Inactive | Reason::RelationshipEnded)
    }

    /// In words, for `gallra plan`.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Inactive => "inactive longer than the policy allows",
            Reason::RelationshipEnded => "relationship ended longer ago than the policy allows",
            Reason::RecentlyActive => "active recently",
            Reason::WarningDue => "inactive (or soon), not yet warned: a warning is due",
            Reason::Warned => "warned by email in this run",
            Reason::WarningPending => "warned earlier; the warning period has not passed",
            Reason::WarningFailed => "the warning could not be sent; tried again next run",
            Reason::NoWarningAddress => "a warning is due but there is no email address",
            Reason::ActiveServices => "has active services",
            Reason::UnpaidInvoices => "has unpaid invoices",
            Reason::ActivityUnknown => "no system reports an activity time",
            Reason::ActivityImplausible => {
                "activity time is implausible (before 2000 or in the future)"
            }
            Reason::SystemUnavailable => "an activity-bearing system could not be asked",
            Reason::RelationshipOngoing => "relationship has not ended",
            Reason::RelationshipEndedRecently => "relationship ended recently",
            Reason::IdentifierUnreadable => {
                "an identifier in the account source could not be read; a person must look"
            }
            Reason::ChangedSincePlan => "changed since the plan (decided again before erasing)",
        }
    }
}

/// Decides the inactivity policy for one subject from everything known about it.
///
/// Recent activity is reported first, as the plainest reason to keep someone. A subject who
/// would otherwise go is kept if a service is active or an invoice unpaid; one whose activity
/// is unknown or implausible is kept too.
pub fn inactivity(now: &Zoned, idle_for: &CalendarDuration, facts: &SubjectFacts) -> Reason {
    let recent = facts
        .last_activity
        .filter(|last| plausible(*last, now))
        .map(|last| last >= idle_for.cutoff(now));
    if recent == Some(true) {
        return Reason::RecentlyActive;
    }
    if let Some(kept) = services_or_debt(facts) {
        return kept;
    }
    match (facts.last_activity, recent) {
        (None, _) => Reason::ActivityUnknown,
        (Some(_), None) => Reason::ActivityImplausible,
        _ => Reason::Inactive,
    }
}

/// Decides whether a subject's relationship ended longer than `after` ago.
///
/// Active services and debt keep the subject: a relationship with a live service has not
/// really ended, whatever the end column says.
pub fn retention(now: &Zoned, after: &CalendarDuration, facts: &SubjectFacts) -> Reason {
    let Some(ended) = facts.relationship_ended else {
        return Reason::RelationshipOngoing;
    };
    if plausible(ended, now) && ended >= after.cutoff(now) {
        return Reason::RelationshipEndedRecently;
    }
    if let Some(kept) = services_or_debt(facts) {
        return kept;
    }
    if plausible(ended, now) {
        Reason::RelationshipEnded
    } else {
        Reason::ActivityImplausible
    }
}

/// What keeps a subject whatever the policy or request: an active service first, then an
/// unpaid invoice. One rule for policy runs and erasure requests.
pub fn services_or_debt(facts: &SubjectFacts) -> Option<Reason> {
    if facts.active_services.unwrap_or(0) > 0 {
        Some(Reason::ActiveServices)
    } else if facts.unpaid_invoices.unwrap_or(0) > 0 {
        Some(Reason::UnpaidInvoices)
    } else {
        None
    }
}

/// Why an erasure request must wait, in the words its requester's receipt uses: the
/// [`services_or_debt`] rule.
pub fn request_blocker(facts: &SubjectFacts) -> Option<&'static str> {
    services_or_debt(facts).map(|reason| match reason {
        Reason::ActiveServices => "the customer still has active services",
        _ => "the final invoice is not paid",
    })
}

/// The cutoff of a record-level retention rule: records whose clock started strictly before
/// it are past their deadline.
pub fn record_cutoff(now: &Zoned, after: &CalendarDuration) -> Timestamp {
    after.cutoff(now)
}

fn plausible(t: Timestamp, now: &Zoned) -> bool {
    t >= PLAUSIBLE_AFTER && t <= now.timestamp()
}

#[cfg(test)]
mod tests;
