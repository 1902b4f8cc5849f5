//! # gallra-plugin-test-faults
//!
//! A connector for tests only: it wraps the real SQL connector ([`SqlConnector`], linked in
//! as a library, not copied) and misbehaves on a seeded schedule ([`schedule::Schedule`]):
//! transient timeouts and 5xx errors, panics, hangs longer than gallra's call timeout, empty
//! and truncated scan pages, garbage activity times (1970, year 9999), a renamed column
//! (schema drift, as the SQL connector really meets it), erasures that are made but answered
//! with an error, erasures that claim success without doing anything, and deletions that
//! finish only when gallra hands back their resume token.
//!
//! Settings, under `[systems.NAME.settings]`:
//!
//! ```toml
//! schedule_file = "/tmp/scenario/faults.json"   # re-read on every call; missing = calm
//! [systems.NAME.settings.sql]                   # the SQL connector's own settings
//! backend = "sqlite"
//! path = "/tmp/scenario/crm.db"
//! ```
//!
//! or an inline `schedule = { seed = 42, rate = 0.2, faults = ["timeout", "5xx"] }`.
//!
//! Which call meets which fault is a pure function of the seed, the schedule's step, the
//! call and how often this process made that same call (see [`schedule::Dice`]).

#![forbid(unsafe_code)]

pub mod schedule;

use std::io::Write;
use std::path::PathBuf;

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{
    Connector, ConnectorError, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportResult, LookupResult, OpenContext, RestoreOutcome, ResumeToken, ScanPage, ScanRequest,
    Subject, SubjectFacts,
};
use gallra_plugin_sql::config::Settings as SqlSettings;
use gallra_plugin_sql::SqlConnector;
use serde::Deserialize;

use crate::schedule::{Dice, Draw, Fault, Schedule};

/// The resume token of a [`Fault::Deferred`] deletion.
const DEFERRED: &str = "deferred-deletion-job";

/// The settings: the wrapped SQL connector's, and where the faults come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The SQL connector's settings, as its documentation describes them.
    pub sql: SqlSettings,
    /// A JSON [`Schedule`] re-read on every call, so a test can change the faults between
    /// runs (or during one). A missing file means no faults.
    pub schedule_file: Option<PathBuf>,
    /// A schedule written inline, used when there is no `schedule_file`.
    pub schedule: Option<Schedule>,
}

/// The SQL connector, with faults.
pub struct FaultyConnector {
    system: String,
    inner: SqlConnector,
    /// The same database seen through settings whose first identifier column is renamed.
    drifted: SqlConnector,
    schedule_file: Option<PathBuf>,
    inline: Schedule,
    dice: Dice,
}

impl Connector for FaultyConnector {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        SqlConnector::validate(&settings.sql)
    }

    fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
        let drifted = SqlConnector::open(drift(settings.sql.clone()), context.clone())?;
        Ok(Self {
            system: context.system.clone(),
            inner: SqlConnector::open(settings.sql, context)?,
            drifted,
            schedule_file: settings.schedule_file,
            inline: settings.schedule.unwrap_or_default(),
            dice: Dice::default(),
        })
    }

    fn describe(&self) -> Description {
        Description {
            name: "test-faults".to_owned(),
            ..self.inner.describe()
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        let arguments = format!("{:?}/{}", request.cursor, request.limit);
        let Some((draw, schedule)) = self.draw("scan", arguments.as_bytes())? else {
            return self.inner.scan(request);
        };
        match draw.fault {
            Fault::EmptyPage => Ok(ScanPage {
                subjects: Vec::new(),
                next_cursor: None,
                total: None,
            }),
            Fault::ShortPage | Fault::TruncatedPage => {
                let mut page = self.inner.scan(request)?;
                let keep = page.subjects.len() / 2;
                page.subjects.truncate(keep);
                page.next_cursor = match (draw.fault, page.subjects.last()) {
                    (Fault::ShortPage, Some(last)) => Some(last.key.clone()),
                    (Fault::ShortPage, None) => page.next_cursor,
                    _ => None,
                };
                Ok(page)
            }
            Fault::Ts1970 | Fault::Ts9999 => {
                let mut page = self.inner.scan(request)?;
                for (i, subject) in page.subjects.iter_mut().enumerate() {
                    if (i as u64).wrapping_add(draw.bits).is_multiple_of(2) {
                        garble(&mut subject.facts, draw.fault);
                    }
                }
                Ok(page)
            }
            Fault::SchemaDrift => self.drifted.scan(request),
            _ => {
                self.common(draw, &schedule)?;
                self.inner.scan(request)
            }
        }
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        self.reading("lookup", subject, |c| c.lookup(subject))
    }

    fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        self.reading("export", subject, |c| c.export(subject))
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        self.erasing("erase", subject, |c| c.erase(subject))
    }

    fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        self.erasing("anonymize", subject, |c| c.anonymize(subject))
    }

    fn restrict(&self, subject: &Subject, restricted: bool) -> Result<(), ConnectorError> {
        self.inner.restrict(subject, restricted)
    }

    fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        match self.draw("status", &subject_bytes(subject))? {
            Some((draw, _)) if draw.fault == Fault::SchemaDrift => self.drifted.status(subject),
            Some((draw, _)) if matches!(draw.fault, Fault::Ts1970 | Fault::Ts9999) => {
                let mut facts = self.inner.status(subject)?;
                garble(&mut facts, draw.fault);
                Ok(facts)
            }
            Some((draw, schedule)) => {
                self.common(draw, &schedule)?;
                self.inner.status(subject)
            }
            None => self.inner.status(subject),
        }
    }

    fn expire(&self, request: &ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        let arguments = format!("{}/{}/{}", request.kind, request.cutoff, request.dry_run);
        if let Some((draw, schedule)) = self.draw("expire", arguments.as_bytes())? {
            self.common(draw, &schedule)?;
        }
        self.inner.expire(request)
    }

    /// Passed through without faults: restoring is an operator's repair, outside the runs
    /// the harness disturbs.
    fn restore(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        self.inner.restore(data)
    }

    fn health(&self) -> Result<(), ConnectorError> {
        self.inner.health()
    }
}

impl FaultyConnector {
    /// The schedule in force and the fault this call meets, if any (logged when drawn).
    fn draw(
        &self,
        operation: &str,
        arguments: &[u8],
    ) -> Result<Option<(Draw, Schedule)>, ConnectorError> {
        let schedule = match &self.schedule_file {
            Some(path) => Schedule::read(path).map_err(ConnectorError::permanent)?,
            None => self.inline.clone(),
        };
        let Some(draw) = self.dice.draw(&schedule, operation, arguments) else {
            return Ok(None);
        };
        if let Some(log) = &schedule.log_file {
            let line = format!("{} {operation} {}\n", self.system, draw.fault.name());
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = appended {
                return Err(ConnectorError::permanent(format!(
                    "fault log {}: {e}",
                    log.display()
                )));
            }
        }
        Ok(Some((draw, schedule)))
    }

    /// The faults every operation can meet: an error, a panic, or a hang before the answer.
    fn common(&self, draw: Draw, schedule: &Schedule) -> Result<(), ConnectorError> {
        match draw.fault {
            Fault::Timeout => Err(ConnectorError::transient("timed out (injected)")),
            Fault::ServerError => Err(ConnectorError::transient(
                "HTTP 503 Service Unavailable (injected)",
            )),
            Fault::Panic => panic!("injected panic in system \"{}\"", self.system),
            Fault::Hang => {
                std::thread::sleep(schedule.hang());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A read about one subject: the common faults, or a renamed column.
    fn reading<T>(
        &self,
        operation: &str,
        subject: &Subject,
        run: impl Fn(&SqlConnector) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        match self.draw(operation, &subject_bytes(subject))? {
            Some((draw, _)) if draw.fault == Fault::SchemaDrift => run(&self.drifted),
            Some((draw, schedule)) => {
                self.common(draw, &schedule)?;
                run(&self.inner)
            }
            None => run(&self.inner),
        }
    }

    fn erasing(
        &self,
        operation: &str,
        subject: &Subject,
        run: impl Fn(&SqlConnector) -> Result<EraseOutcome, ConnectorError>,
    ) -> Result<EraseOutcome, ConnectorError> {
        // The deferred deletion's job is done once the call names it.
        if subject.resume.as_ref().map(ResumeToken::as_str) == Some(DEFERRED) {
            return run(&self.inner);
        }
        let Some((draw, schedule)) = self.draw(operation, &subject_bytes(subject))? else {
            return run(&self.inner);
        };
        match draw.fault {
            Fault::Deferred => Ok(EraseOutcome::InProgress {
                reason: "a deletion job was queued (injected)".to_owned(),
                check_after_secs: 1,
                resume: Some(ResumeToken::new(DEFERRED)?),
            }),
            Fault::SchemaDrift => run(&self.drifted),
            Fault::PartialErase => {
                run(&self.inner)?;
                Err(ConnectorError::transient(format!(
                    "connection lost before the answer to {operation} (injected)"
                )))
            }
            Fault::LyingErase => Ok(EraseOutcome::Erased { records: 1 }),
            _ => {
                self.common(draw, &schedule)?;
                run(&self.inner)
            }
        }
    }
}

/// The call's arguments as bytes, to tell calls apart (identifiers in a stable order).
fn subject_bytes(subject: &Subject) -> Vec<u8> {
    let mut values: Vec<String> = subject
        .identifiers
        .iter()
        .map(|i| format!("{:?}={}", i.kind(), i.value()))
        .collect();
    values.sort();
    values.join("\n").into_bytes()
}

/// Replaces the activity times with a garbage value of the fault's kind.
fn garble(facts: &mut SubjectFacts, fault: Fault) {
    let garbage: Timestamp = match fault {
        Fault::Ts1970 => Timestamp::UNIX_EPOCH,
        _ => "9999-12-30T00:00:00Z".parse().expect("a valid instant"),
    };
    facts.last_activity = Some(garbage);
    if facts.relationship_ended.is_some() {
        facts.relationship_ended = Some(garbage);
    }
}

/// Settings whose subjects table names its first identifier column with a suffix that no
/// table has: the queries then meet a missing column, as after a rename in the system.
fn drift(mut settings: SqlSettings) -> SqlSettings {
    if let Some(subjects) = settings.subjects.as_mut() {
        if let Some(column) = subjects.identifiers.values_mut().next() {
            column.push_str("_renamed");
        }
    }
    settings
}

gallra_plugin_api::export_connector!(FaultyConnector);
