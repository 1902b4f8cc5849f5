//! Issue 5's acceptance: one erasure through `gallra` reaches a WHMCS-like account source,
//! Fortnox, Zendesk, Mailchimp, Copper, an IMAP mailbox and an EPP registry, and a system
//! a person tends, in one request; the receipt shows per system what happened (deleted,
//! anonymized and retained until a date, retained because linked, done by a person), and
//! each system's own state shows the same: the subject gone or anonymized, the other person
//! untouched. Nothing about the subject reaches the logs, the audit log or the receipt's
//! reasons.
//!
//! Every connector is the real plugin (`libgallra_plugin_*.so`) loaded by the real binary;
//! the systems are the testkit's servers and the private Dovecot (`scripts/dovecot.sh`).

use std::time::{Duration, Instant};

use gallra_e2e::connectors::{
    system, Connectors, Person, ARCHIVE_INSTRUCTIONS, BOOKKEEPING_LAW, BOOKKEEPING_UNTIL,
    CUSTOMERS, OTHER, SUBJECT, SUBJECT_DOMAIN, SYSTEMS_WITH_DATA,
};
use gallra_e2e::examples::stockholm;
use gallra_e2e::requests::{receipt_line, show, task, task_done};
use gallra_e2e::Gallra;
use serde_json::Value;

/// How long a request may take to settle in these tests.
const PATIENCE: Duration = Duration::from_secs(90);

/// Everything gallra printed while carrying the request out.
#[derive(Default)]
struct Output(String);

impl Output {
    /// `gallra run --once` at the most talkative log level, kept.
    fn run_once(&mut self, gallra: &Gallra) {
        let run = gallra
            .run_with_env(&["run", "--once"], &[("GALLRA_LOG", "debug")])
            .expect_code(0);
        self.0.push_str(&run.stdout);
        self.0.push_str(&run.stderr);
    }

    /// The last few thousand characters, to show in a failure.
    fn tail(&self) -> &str {
        let mut start = self.0.len().saturating_sub(4000);
        while !self.0.is_char_boundary(start) {
            start += 1;
        }
        &self.0[start..]
    }
}

/// The state of one system's task in a request view.
fn state<'a>(view: &'a Value, system: &str) -> &'a str {
    task(view, system)["state"].as_str().unwrap()
}

/// Whether every connector task has an outcome (the manual one may still wait).
fn connectors_settled(view: &Value) -> bool {
    SYSTEMS_WITH_DATA
        .iter()
        .all(|s| !matches!(state(view, s), "pending" | "running"))
}

/// Runs `gallra run --once` until `settled` holds for the request's view, checking after
/// every run that what gallra calls done really is done; the last view.
fn drive(
    world: &Connectors,
    gallra: &Gallra,
    id: i64,
    output: &mut Output,
    mut after_run: impl FnMut(&Value),
    settled: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        output.run_once(gallra);
        let view = show(gallra, id);
        assert_done_means_done(world, &view);
        after_run(&view);
        if settled(&view) {
            return view;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the request did not settle within {PATIENCE:?}: {view:#}\nlast output:\n{}",
            output.tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// No task is reported done while its system, looked at directly, still holds the subject.
/// (The registry's task is judged in [`assert_registry_retained_the_linked_contact`].)
fn assert_done_means_done(world: &Connectors, view: &Value) {
    let held = world.holdings(&SUBJECT, world.subject_ids());
    for system in SYSTEMS_WITH_DATA {
        if system == system::REGISTRY {
            continue;
        }
        let reported_done = matches!(state(view, system), "done" | "retained");
        assert!(
            !(reported_done && held.iter().any(|h| h == system)),
            "{system} is reported {} but still holds the subject: {view:#}",
            state(view, system)
        );
    }
}

/// The subject is everywhere, and so is the other person, before anything runs.
fn assert_seeded(world: &Connectors) -> Vec<String> {
    for (person, ids) in [(&SUBJECT, world.subject_ids()), (&OTHER, world.other_ids())] {
        assert_eq!(
            world.holdings(person, ids),
            SYSTEMS_WITH_DATA,
            "seeded in every system"
        );
    }
    world.snapshot(&OTHER, world.other_ids())
}

/// Submits the erasure, carries it to the end (the archive confirmed by a person once the
/// connectors have answered) and returns the final view.
fn erase_to_the_end(
    world: &Connectors,
    gallra: &Gallra,
    output: &mut Output,
    after_run: impl FnMut(&Value),
) -> Value {
    // A request by email alone does not reach the registry's contact yet: gallra does not
    // look the number up in the account source.
    let id = world.submit_erasure(gallra);
    let view = drive(world, gallra, id, output, after_run, connectors_settled);
    assert_eq!(view["state"], "open", "waits for the person: {view:#}");
    let archive = task(&view, system::ARCHIVE);
    assert_eq!(archive["state"], "needs_person", "{archive:#}");
    let tasks = gallra
        .run(&["task", "list", "--json"])
        .expect_code(0)
        .json();
    let listed = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["request"] == id)
        .expect("the archive's task is listed for a person");
    assert_eq!(listed["instructions"], ARCHIVE_INSTRUCTIONS);
    task_done(gallra, archive, "folder shredded");
    drive(world, gallra, id, output, |_| {}, |v| v["state"] != "open")
}

/// What the receipt and each system's own state say, system by system; then that nothing
/// about the subject leaked. The registry last (see its own check).
fn assert_outcomes(world: &Connectors, view: &Value, output: &Output, other_before: &[String]) {
    assert_eq!(view["state"], "done", "{view:#}");
    for system in [
        system::PANEL,
        system::SUPPORT,
        system::NEWSLETTER,
        system::CRM,
        system::MAIL,
    ] {
        let line = receipt_line(view, system);
        assert_eq!(line["outcome"], "erased", "{system}: {line:#}");
    }
    // Bookkeeping: the card anonymized, the invoice kept until Bokföringslagen lets it go.
    let books = receipt_line(view, system::BOOKS);
    assert_eq!(books["outcome"], "retained", "{books:#}");
    assert_eq!(books["legal_basis"], BOOKKEEPING_LAW, "{books:#}");
    assert_eq!(
        books["retained_until"],
        Value::from(stockholm(BOOKKEEPING_UNTIL)),
        "{books:#}"
    );
    assert!(
        books["detail"].as_str().unwrap().contains("anonymized"),
        "{books:#}"
    );
    assert_eq!(world.fortnox.invoice_count(CUSTOMERS.subject), 1);
    let card = world.fortnox.customer(CUSTOMERS.subject).expect("kept");
    assert_ne!(card["Email"], SUBJECT.email, "{card:?}");
    assert_ne!(card["Name"], Value::from(SUBJECT.name()), "{card:?}");

    let archive = receipt_line(view, system::ARCHIVE);
    assert_eq!(archive["outcome"], "done_by_person", "{archive:#}");
    assert_eq!(
        archive["detail"], "done by a person: folder shredded",
        "{archive:#}"
    );

    // Each system, looked at directly: the subject gone (the registry aside), the other
    // person exactly as before.
    assert!(world.whmcs.client(world.clients.subject).is_none());
    assert!(!world.copper.person_exists(world.people.subject));
    assert!(world.mail_mentions(&SUBJECT).is_empty());
    assert!(!world.mailchimp.holds_email(SUBJECT.email));
    assert!(!world.zendesk.holds_email(SUBJECT.email));
    let held: Vec<String> = world
        .holdings(&SUBJECT, world.subject_ids())
        .into_iter()
        .filter(|s| s != system::REGISTRY)
        .collect();
    assert!(held.is_empty(), "still held in {held:?}");
    assert_eq!(
        world.snapshot(&OTHER, world.other_ids()),
        other_before,
        "the other person is untouched"
    );
    for person in [&SUBJECT, &OTHER] {
        assert_nothing_leaked(world, view, output, person);
    }
    assert_registry_retained_the_linked_contact(world, view);
}

/// The subject's email, name and personnummer appear nowhere in what gallra printed, in
/// the audit log, or in the receipt's and the tasks' reasons.
fn assert_nothing_leaked(world: &Connectors, view: &Value, output: &Output, person: &Person) {
    let reasons: Vec<String> = ["receipt", "task_list"]
        .iter()
        .flat_map(|part| {
            let lines = if *part == "receipt" {
                &view["receipt"]["systems"]
            } else {
                &view["task_list"]
            };
            lines.as_array().unwrap().iter().map(|l| {
                format!("{} {} {}", l["system"], l["detail"], l["legal_basis"]).to_lowercase()
            })
        })
        .collect();
    let log = output.0.to_lowercase();
    let audit = world.audit_log().to_lowercase();
    assert!(log.contains("request"), "the runs logged: {log}");
    assert!(!audit.is_empty(), "the audit log was written");
    for needle in person.needles() {
        assert!(!log.contains(&needle), "{needle:?} in gallra's output");
        assert!(!audit.contains(&needle), "{needle:?} in the audit log");
        for reason in &reasons {
            assert!(
                !reason.contains(&needle),
                "{needle:?} in a reason: {reason}"
            );
        }
    }
}

/// The registry keeps a contact a domain still links (EPP 2305): the connector anonymizes
/// it and the receipt says it is retained, and why.
///
/// The registry knows the customer by the account source's number (`source_customer_id =
/// true`), which the request carries (the control panel files it with `--customer-id`).
/// Known gap: an `Anonymized` answer whose retention has no end date is recorded with no
/// re-check (`requests::steps::erase_outcome`), so gallra does not yet ask the registry again
/// once the domain is gone.
fn assert_registry_retained_the_linked_contact(world: &Connectors, view: &Value) {
    let contact = world
        .registry
        .contact(&Connectors::contact_id(world.clients.subject))
        .expect("a linked contact stays at the registry");
    assert!(world.registry.domain_exists(SUBJECT_DOMAIN));
    let line = receipt_line(view, system::REGISTRY);
    assert_eq!(
        line["outcome"], "retained",
        "registry: {line:#}\n(\"erased 0 records\" means the EPP connector was handed no \
         customer id)"
    );
    let detail = line["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("linked to a domain") && detail.contains("2305"),
        "registry: {line:#}"
    );
    assert_ne!(contact.email, SUBJECT.email, "anonymized: {contact:?}");
    assert_ne!(contact.name, SUBJECT.name(), "anonymized: {contact:?}");
}

#[test]
fn one_erasure_reaches_every_connector_and_the_receipt_says_what_happened_in_each() {
    let dir = tempfile::tempdir().unwrap();
    let Some(world) = Connectors::start(dir.path()) else {
        return; // Dovecot::connect said SKIPPED (or panicked under GALLRA_REQUIRE_SERVERS=1)
    };
    let gallra = world.gallra();
    let other_before = assert_seeded(&world);
    let mut output = Output::default();
    let mut compliance_seen = false;
    let view = erase_to_the_end(&world, &gallra, &mut output, |view| {
        // Zendesk's permanent deletion runs on in its products: gallra waits for it, and
        // the account source waits for every other system.
        if world.zendesk.compliance_running(world.users.subject) {
            compliance_seen = true;
            assert_ne!(state(view, system::SUPPORT), "done", "{view:#}");
            assert_eq!(state(view, system::PANEL), "pending", "{view:#}");
            world.zendesk.finish_compliance_deletions();
        }
    });
    assert!(
        compliance_seen,
        "Zendesk's compliance deletion was waited for"
    );
    assert_outcomes(&world, &view, &output, &other_before);
}

#[test]
fn a_storm_of_429s_and_5xx_from_one_system_slows_the_erasure_down_but_it_completes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(world) = Connectors::start(dir.path()) else {
        return; // Dovecot::connect said SKIPPED (or panicked under GALLRA_REQUIRE_SERVERS=1)
    };
    // Copper answers 429 (without, then with Retry-After) and then 503 for 28 requests in a
    // row: more than one call's retries can ride out, so the request runner retries too.
    world.copper.answer_next(12, 429, None);
    world.copper.answer_next(4, 429, Some(1));
    world.copper.answer_next(12, 503, None);
    let gallra = world.gallra();
    let other_before = assert_seeded(&world);
    let mut output = Output::default();
    let mut retried = 0;
    let start = Instant::now();
    let view = erase_to_the_end(&world, &gallra, &mut output, |view| {
        world.zendesk.finish_compliance_deletions();
        if world.copper.injected_left() > 0 || world.copper.person_exists(world.people.subject) {
            // The storm is on: the CRM is not done, and the account source keeps the
            // customer so that the erasure can still be finished.
            assert_eq!(state(view, system::CRM), "pending", "{view:#}");
            assert_eq!(state(view, system::PANEL), "pending", "{view:#}");
            assert!(world.whmcs.client(world.clients.subject).is_some());
            assert_ne!(view["state"], "done", "{view:#}");
            retried += 1;
        }
    });
    assert!(
        retried > 0,
        "the request runner saw the CRM fail and waited"
    );
    assert_eq!(
        world.copper.injected_left(),
        0,
        "the whole storm was served"
    );
    assert_eq!(world.copper.injected_served(), 28);
    eprintln!(
        "storm ridden out: {retried} runs saw the CRM still failing; the request took {:?}",
        start.elapsed()
    );
    assert_outcomes(&world, &view, &output, &other_before);
}
