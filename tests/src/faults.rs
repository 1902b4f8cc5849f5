//! The seeded fault harness: the demo's panel, billing and CRM on SQLite, each reached through
//! the `test-faults` connector (the SQL connector with faults drawn from a seed), a policy in
//! enforce mode and erasure requests, driven by `gallra run --once` at advancing dates.
//! After every step the state is checked against a model computed from the generated rows.

pub mod checks;
pub mod family;
mod kept;
pub mod model;
mod shape;
mod stores;
pub mod waiting;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Zoned;
use serde_json::{json, Value};

use crate::gallra::Gallra;
use crate::scenario::{settings_of, Scenario};
use crate::servers::Backend;
use checks::{Observed, Stores};
use model::{day, Model};
pub use shape::{only, Figures, Shape, ALL_FAULTS};

/// The systems of the demo, all behind the fault connector.
const SYSTEMS: [&str; 3] = ["panel", "billing", "crm"];

/// One seeded scenario, built and ready to step through.
pub struct FaultScenario {
    /// The seed everything is drawn from.
    pub seed: u64,
    /// The generated systems.
    pub scenario: Scenario,
    /// The binary bound to the scenario's config.
    pub gallra: Gallra,
    /// The model of what must happen.
    pub model: Model,
    shape: Shape,
    rate: f64,
    start: Zoned,
    schedule: PathBuf,
    log: PathBuf,
    initial: Stores,
    requested: BTreeMap<i64, i64>,
    /// Customers who must stay whatever a plan said, and why (kinds of change, never data).
    stay: BTreeMap<i64, String>,
    /// Whether a run has waited for approval while facts changed.
    waited: bool,
    /// The figures so far.
    pub figures: Figures,
}

/// The first day of every scenario: a week before the change to summer time (2027-03-28).
pub fn start() -> Zoned {
    "2027-03-22T12:00:00+01:00[Europe/Stockholm]"
        .parse()
        .unwrap()
}

impl FaultScenario {
    /// Generates the systems for `seed` in `dir` and writes the config.
    pub fn build(seed: u64, dir: &Path, shape: Shape) -> FaultScenario {
        let start = start();
        let scenario =
            Scenario::build_at(Backend::Sqlite, dir, seed, shape.customers, start.clone());
        let schedule = dir.join("faults.json");
        configure(&scenario, &schedule, shape.billing_hold);
        let mut model = Model::of(&scenario);
        let requesting = requesting(seed, scenario.data.customers().len(), shape.requests);
        let last = day(&start, *shape.steps.last().unwrap() + 3);
        let stay = family::share_emails(
            &scenario,
            &mut model,
            family::Sharing {
                seed,
                pairs: shape.shared_emails,
                requesting: &requesting,
                last: &last,
                crm_by_email_only: shape.crm_by_email_only,
            },
        );
        let initial = Stores::read(&scenario);
        let gallra = Gallra::new(&scenario.config);
        let mut figures = Figures::default();
        if !stay.is_empty() {
            figures
                .faults
                .insert("shared_email".into(), stay.len() as u64);
        }
        FaultScenario {
            seed,
            rate: 0.1 + (seed % 4) as f64 * 0.08,
            gallra,
            model,
            shape,
            start,
            schedule,
            log: dir.join("faults.log"),
            initial,
            requested: BTreeMap::new(),
            stay,
            waited: false,
            figures,
            scenario,
        }
    }

    /// Runs the whole scenario: requests, the faulty steps, then two calm runs, checking
    /// every invariant after each, and the end state after the last.
    pub fn run(mut self) -> Figures {
        self.calm();
        self.submit_requests();
        for (step, days) in self.shape.steps.clone().into_iter().enumerate() {
            self.step(step as u64 + 1, days, true);
        }
        let last = *self.shape.steps.last().unwrap();
        self.step(100, last + 2, false);
        self.step(101, last + 3, false);
        let at = day(&self.start, last + 3);
        let stores = Stores::read(&self.scenario);
        let views = self.request_views(&at);
        let observed = self.observed(&stores, &views);
        let selected = self.model.selected(&at, &stores);
        let for_a_person: BTreeSet<i64> = model::email_held_by_another(&stores)
            .intersection(&selected)
            .filter(|id| !self.requested.contains_key(id))
            .copied()
            .collect();
        observed.end_state(&selected, &for_a_person);
        observed.left_for_a_person(&for_a_person);
        observed.stayed(&self.stay);
        observed.done_tasks_gone();
        let (checks, handovers_failed) = (observed.checks(), observed.failed_handovers().len());
        self.figures.checks += checks;
        self.figures.handovers_failed = handovers_failed as u64;
        self.figures.left_for_a_person = for_a_person.len() as u64;
        for view in views.values() {
            match view["state"].as_str() {
                Some("done") => self.figures.requests_done += 1,
                Some("failed") => self.figures.requests_failed += 1,
                _ => self.figures.requests_waiting += 1,
            }
        }
        self.figures.deleted = (self.initial.panel.len() - stores.panel.len()) as u64;
        self.count_faults();
        self.figures.scenarios = 1;
        self.figures
    }

    /// Erasure requests from customers picked by the seed, submitted on the first day.
    fn submit_requests(&mut self) {
        let at = self.start.timestamp().to_string();
        let customers = self.scenario.data.customers().len();
        for panel_id in requesting(self.seed, customers, self.shape.requests) {
            let email = self
                .scenario
                .data
                .customer(panel_id)
                .unwrap()
                .email()
                .to_owned();
            let id = self.gallra.request_at(&at, "erase", &email);
            self.requested.insert(panel_id, id);
        }
    }

    /// One step at `days` after the start, with faults on or off: until a run has waited
    /// for approval while facts changed, a faulty step makes its run wait (see [`waiting`]).
    fn step(&mut self, step: u64, days: i64, faulty: bool) {
        let at = day(&self.start, days);
        if faulty && self.shape.changes && !self.waited {
            self.waited = self.waiting_step(step, &at);
        } else {
            self.step_at(step, &at, faulty);
        }
    }

    /// One `gallra run --once` at `at`, with faults on or off; the calm plan for that moment
    /// is taken first, and everything is checked after. Returns the run reports.
    fn step_at(&mut self, step: u64, at: &Zoned, faulty: bool) -> Value {
        let at = at.clone();
        let instant = at.timestamp().to_string();
        let before = Stores::read(&self.scenario);
        let plan = self.calm_plan(&instant);
        if faulty {
            self.faulty(step);
        }
        let outcome = self.gallra.at(&instant, &["run", "--once", "--json"]);
        self.calm();
        // Exit code 1 says a run failed (a broken scan, a failed task), 3 that a safety valve
        // stopped one (a source that shrank, e.g. an empty page): the reports say which.
        let reports = if matches!(outcome.code, Some(0 | 1 | 3)) && outcome.stdout.starts_with('[')
        {
            outcome.json()
        } else {
            panic!(
                "seed {}: `gallra run --once` exited with {:?} at step {step}:\n{}\n{}",
                self.seed, outcome.code, outcome.stdout, outcome.stderr
            )
        };
        self.figures.steps += 1;
        let after = Stores::read(&self.scenario);
        let views = self.request_views(&at);
        let observed = self.observed(&after, &views);
        observed.plan_matches_model(&plan, &self.model.selected(&at, &before), &before);
        let mut seen = Figures::default();
        observed.stayed(&self.stay);
        observed.nothing_by_a_shared_email(&before, &model::email_held_by_another(&before));
        observed.done_tasks_gone();
        observed.step(&before, &plan, &reports, &mut seen);
        seen.checks = observed.checks();
        self.figures.add(&seen);
        reports
    }

    fn observed<'a>(&'a self, after: &'a Stores, views: &'a BTreeMap<i64, Value>) -> Observed<'a> {
        let mut observed = Observed::new(
            self.seed,
            &self.model,
            &self.initial,
            after,
            &self.requested,
            views,
            self.scenario.dir.join("state/state.db"),
        );
        observed.billing_hold = self.shape.billing_hold;
        observed
    }

    /// `gallra plan --json` at `instant` with no faults: the keys the policy would select.
    fn calm_plan(&self, instant: &str) -> BTreeSet<i64> {
        let plans = self
            .gallra
            .at(instant, &["plan", "--json"])
            .expect_code(0)
            .json();
        let plan = crate::examples::report(&plans, "inactive-6-months");
        assert_eq!(plan["status"], "subjects", "seed {}: {plan:#}", self.seed);
        plan["selected_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().parse().unwrap())
            .collect()
    }

    fn request_views(&self, at: &Zoned) -> BTreeMap<i64, Value> {
        let instant = at.timestamp().to_string();
        self.requested
            .values()
            .map(|id| (*id, self.gallra.show_at(&instant, *id)))
            .collect()
    }

    /// Faults on for `step`.
    fn faulty(&self, step: u64) {
        let schedule = json!({
            "seed": self.seed,
            "step": step,
            "rate": self.rate,
            "faults": self.shape.faults,
            "hang_ms": 1500,
            "log_file": self.log,
        });
        write_private(&self.schedule, &schedule.to_string());
    }

    /// Writes a schedule of the test's own (see the `test-faults` connector's `Schedule`).
    pub fn set_schedule(&self, schedule: &Value) {
        write_private(&self.schedule, &schedule.to_string());
    }

    /// Faults off.
    pub fn calm(&self) {
        write_private(&self.schedule, "{}");
    }

    fn count_faults(&mut self) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        for line in log.lines() {
            let kind = line.rsplit(' ').next().unwrap_or_default().to_owned();
            *self.figures.faults.entry(kind).or_default() += 1;
        }
    }
}

/// The panel ids of the customers who ask to be erased on the first day, picked by the
/// seed, in the order they ask.
fn requesting(seed: u64, customers: usize, requests: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..requests as u64 {
        let panel_id = ((seed * 7 + i * 13) % customers as u64) as i64 + 1;
        if !ids.contains(&panel_id) {
            ids.push(panel_id);
        }
    }
    ids
}

/// Puts every system behind `test-faults` (reading `schedule`), with a 1-second call
/// timeout, small scan pages, billing's bookkeeping hold and 7-day erasures.
fn configure(scenario: &Scenario, schedule: &Path, billing_hold: bool) {
    scenario.edit_config(|config| {
        settings_of(config, "panel").insert("page_size".into(), 7.into());
        for system in SYSTEMS {
            let file = schedule.display().to_string();
            let table = crate::behind_faults(config, system, ("schedule_file", file.into()));
            table.insert("call_timeout".into(), "1s".into());
        }
        crate::requests::hold_billing_and_retry_quickly(config);
        if !billing_hold {
            config["systems"]["billing"]
                .as_table_mut()
                .unwrap()
                .remove("legal_hold");
        }
    });
}

/// Writes a file only its owner may read (gallra warns about `*_file` settings others can).
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
