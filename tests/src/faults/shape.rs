//! What a fault scenario meets (its [`Shape`]) and what the scenarios came to ([`Figures`]).

use std::collections::BTreeMap;

/// Every fault the `test-faults` connector can inject.
pub const ALL_FAULTS: [&str; 12] = [
    "timeout",
    "5xx",
    "panic",
    "hang",
    "empty_page",
    "short_page",
    "truncated_page",
    "ts1970",
    "ts9999",
    "schema_drift",
    "partial_erase",
    "lying_erase",
];

/// The shape of a scenario that meets only `fault`, often.
pub fn only(fault: &'static str) -> Shape {
    Shape {
        faults: vec![fault],
        ..Shape::standard()
    }
}

/// How a scenario is shaped: what faults it meets and when it runs.
#[derive(Debug, Clone)]
pub struct Shape {
    /// How many customers are generated.
    pub customers: usize,
    /// The faults drawn from.
    pub faults: Vec<&'static str>,
    /// Days after the start of each faulty step (the calm runs follow the last).
    pub steps: Vec<i64>,
    /// How many customers ask to be erased at the start.
    pub requests: usize,
    /// Whether facts change while a run waits for approval (see [`super::waiting`]): the first
    /// faulty step whose run stops for approval meets them.
    pub changes: bool,
    /// Whether billing is under the bookkeeping hold, so that runs file erasure requests
    /// for it; without, the run anonymizes billing itself, through its re-check.
    pub billing_hold: bool,
    /// Whether a customer whose email is withheld (shared, or moved while a run waited) may
    /// have a CRM person without a personnummer, whom gallra can find only by that email: the
    /// CRM task then needs a person, and the row stays.
    pub crm_by_email_only: bool,
    /// How many customers the policy will select share an email with one it never selects
    /// (a family address, see [`super::family`]).
    pub shared_emails: usize,
}

impl Shape {
    /// The standard shape: every fault, four faulty steps across a DST change and a month.
    pub fn standard() -> Shape {
        Shape {
            customers: 40,
            faults: ALL_FAULTS.to_vec(),
            steps: vec![0, 3, 8, 36],
            requests: 3,
            changes: false,
            billing_hold: true,
            crm_by_email_only: true,
            shared_emails: 0,
        }
    }

    /// The standard shape, and facts that change while a run waits for approval (a login, a
    /// new service, an unpaid invoice, a moved mailbox: see [`super::waiting`]), in a population
    /// where two customers the policy selects share a family address with one it never
    /// selects (see [`super::family`]).
    pub fn changing_facts() -> Shape {
        Shape {
            changes: true,
            shared_emails: 2,
            ..Shape::standard()
        }
    }

    /// [`Shape::changing_facts`] with billing out of the hold: every system is erased by
    /// the run itself, each subject decided again and its identifiers resolved just before.
    pub fn changing_facts_run_erases_all() -> Shape {
        Shape {
            billing_hold: false,
            ..Shape::changing_facts()
        }
    }

    /// [`Shape::changing_facts_run_erases_all`] where customers whose email is withheld
    /// have a CRM person with a personnummer, or none. (Its name is from when the other
    /// case was a known bug.)
    pub fn changing_facts_without_known_bugs() -> Shape {
        Shape {
            crm_by_email_only: false,
            ..Shape::changing_facts_run_erases_all()
        }
    }
}

/// Figures over the scenarios run.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    /// Scenarios run to the end.
    pub scenarios: u64,
    /// `gallra run --once` steps (faulty and calm).
    pub steps: u64,
    /// Injected faults by kind, from the connector's fault log.
    pub faults: BTreeMap<String, u64>,
    /// Invariant checks that held.
    pub checks: u64,
    /// Policy runs that stopped on a failed or broken scan (and deleted nothing).
    pub scans_refused: u64,
    /// Policy runs a safety valve stopped before deleting anything (awaiting approval).
    pub valve_stops: u64,
    /// Policy runs finished as done although they saw fewer subjects than the store holds.
    pub incomplete_scans_accepted: u64,
    /// Erasure requests (submitted) done.
    pub requests_done: u64,
    /// Requests left failed.
    pub requests_failed: u64,
    /// Requests still waiting (blocked by an active service or debt).
    pub requests_waiting: u64,
    /// Requests a run filed for the held billing system that ended failed (left visible).
    pub handovers_failed: u64,
    /// Subjects deleted by policy or request.
    pub deleted: u64,
    /// Customers the policy selects who are left for a person after the calm runs: their
    /// email is another customer's too.
    pub left_for_a_person: u64,
    /// Runs approved (and carried out) after facts changed while they waited.
    pub approved: u64,
}

impl Figures {
    /// Adds another scenario's figures.
    pub fn add(&mut self, other: &Figures) {
        self.scenarios += other.scenarios;
        self.steps += other.steps;
        for (kind, n) in &other.faults {
            *self.faults.entry(kind.clone()).or_default() += n;
        }
        self.checks += other.checks;
        self.scans_refused += other.scans_refused;
        self.valve_stops += other.valve_stops;
        self.incomplete_scans_accepted += other.incomplete_scans_accepted;
        self.requests_done += other.requests_done;
        self.requests_failed += other.requests_failed;
        self.requests_waiting += other.requests_waiting;
        self.handovers_failed += other.handovers_failed;
        self.deleted += other.deleted;
        self.left_for_a_person += other.left_for_a_person;
        self.approved += other.approved;
    }
}
