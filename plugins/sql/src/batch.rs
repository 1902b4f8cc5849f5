//! The batched calls: many subjects on one connection, and a batch's erasures in one
//! transaction.
//!
//! A purge hands each system up to `MAX_BATCH` subjects at once. Reads (`lookup`, `status`,
//! `export`) run one after the other on the connection taken once. Erasures share one
//! transaction and so one commit (one flush to disk) for the batch; each subject's work runs
//! in its own savepoint, so a subject whose statements fail is rolled back alone and gets its
//! error while the others go on. Nothing is answered before the commit that holds it: a
//! failed commit fails every subject of the batch, and gallra tries them again.

use gallra_plugin_api::{ConnectorError, EraseOutcome, LookupResult, Subject, SubjectFacts};

use crate::client::{Client, DbError};
use crate::erase::{self, Mode};
use crate::{facts, records, set_based};

const SAVEPOINT: &str = "SAVEPOINT gallra_subject";
const RELEASE: &str = "RELEASE SAVEPOINT gallra_subject";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT gallra_subject";

/// Runs `f` for each subject on one connection, inside one read transaction where the
/// backend gains by it (`begin`): each subject's own result, in order. A lost connection
/// ends the batch with that error (the connection is opened again next time).
pub fn each_read<T>(
    client: &mut dyn Client,
    begin: Option<&str>,
    subjects: &[Subject],
    mut f: impl FnMut(&mut dyn Client, &Subject) -> Result<T, DbError>,
) -> Result<Vec<Result<T, DbError>>, DbError> {
    if let Some(begin) = begin {
        client.batch(begin).map_err(lost)?;
    }
    let mut results = Vec::with_capacity(subjects.len());
    for subject in subjects {
        match f(client, subject) {
            Err(error) if error.connection_lost => return Err(error),
            Err(error) => {
                // Whatever the failed statement left of the transaction is dropped.
                if let Some(begin) = begin {
                    client.batch("ROLLBACK").map_err(lost)?;
                    client.batch(begin).map_err(lost)?;
                }
                results.push(Err(error));
            }
            result => results.push(result),
        }
    }
    if begin.is_some() {
        client.batch("ROLLBACK").map_err(lost)?;
    }
    Ok(results)
}

/// A connection whose read transaction could not be opened or closed is given up: it may be
/// left inside a transaction, seeing an old snapshot.
fn lost(error: DbError) -> DbError {
    DbError {
        transient: true,
        connection_lost: true,
        ..error
    }
}

/// Runs `f` for each subject inside the caller's transaction, each in its own savepoint: a
/// subject whose work fails is rolled back to its savepoint and gets its error; the others
/// keep theirs. A lost connection, or a savepoint that cannot be taken or undone, fails the
/// whole transaction.
pub fn each_written<T>(
    client: &mut dyn Client,
    subjects: &[Subject],
    mut f: impl FnMut(&mut dyn Client, &Subject) -> Result<T, DbError>,
) -> Result<Vec<Result<T, DbError>>, DbError> {
    let mut results = Vec::with_capacity(subjects.len());
    for subject in subjects {
        client.batch(SAVEPOINT)?;
        match f(client, subject) {
            Ok(done) => {
                client.batch(RELEASE)?;
                results.push(Ok(done));
            }
            Err(error) if error.connection_lost => return Err(error),
            Err(error) => {
                client.batch(ROLLBACK_TO)?;
                client.batch(RELEASE)?;
                results.push(Err(error));
            }
        }
    }
    Ok(results)
}

impl crate::SqlConnector {
    /// Reads each subject with `f` on the connection taken once.
    pub(crate) fn read_many<T>(
        &self,
        operation: &str,
        subjects: &[Subject],
        mut f: impl FnMut(&mut dyn Client, &Subject) -> Result<T, DbError>,
    ) -> Vec<Result<T, ConnectorError>> {
        if let Err(error) = self.require_subjects(operation) {
            return subjects.iter().map(|_| Err(error.clone())).collect();
        }
        let begin = self.schema.dialect.begin_read();
        let results = self
            .database
            .with(|c| each_read(c, begin, subjects, &mut f));
        self.answers(operation, subjects.len(), results)
    }

    /// Looks the batch up with one query per table ([`set_based::lookup_many`]), or, if that
    /// cannot be done, subject by subject.
    pub(crate) fn lookup_batch(
        &self,
        subjects: &[Subject],
    ) -> Vec<Result<LookupResult, ConnectorError>> {
        let set = |c: &mut dyn Client, _: &mut facts::Tally| {
            set_based::lookup_many(&self.schema, c, subjects)
        };
        self.set_or_each("lookup", subjects, set, |c, s, _| {
            records::lookup(&self.schema, c, s)
        })
    }

    /// The batch's status with one query per table ([`facts::status_many`]), or, if that
    /// cannot be done, subject by subject.
    pub(crate) fn status_batch(
        &self,
        subjects: &[Subject],
    ) -> Vec<Result<SubjectFacts, ConnectorError>> {
        let set = |c: &mut dyn Client, tally: &mut facts::Tally| {
            facts::status_many(&self.schema, c, subjects, tally)
        };
        self.set_or_each("status", subjects, set, |c, s, tally| {
            facts::status(&self.schema, c, s, tally)
        })
    }

    /// Reads the batch set-based with `set`, or, if that fails short of a lost connection,
    /// subject by subject with `each`.
    fn set_or_each<T>(
        &self,
        operation: &str,
        subjects: &[Subject],
        set: impl FnOnce(&mut dyn Client, &mut facts::Tally) -> Result<Vec<T>, DbError>,
        mut each: impl FnMut(&mut dyn Client, &Subject, &mut facts::Tally) -> Result<T, DbError>,
    ) -> Vec<Result<T, ConnectorError>> {
        let mut tally = self.tally();
        let answers = match self.require_subjects(operation) {
            Err(error) => subjects.iter().map(|_| Err(error.clone())).collect(),
            Ok(_) => match self.database.with(|c| set(c, &mut tally)) {
                Ok(found) => found.into_iter().map(Ok).collect(),
                Err(error) if error.connection_lost => {
                    self.answers(operation, subjects.len(), Err(error))
                }
                Err(error) => {
                    self.set_based_failed(operation, &error);
                    self.read_many(operation, subjects, |c, s| each(c, s, &mut tally))
                }
            },
        };
        self.report(operation, &tally);
        answers
    }

    /// Erases or anonymizes each subject, all in one transaction, each in its savepoint.
    /// An account source's erase reads the facts that selected the subject again in that
    /// transaction (on SQLite it holds the write lock from its start), so a login between
    /// gallra's re-check and this call still keeps the customer.
    pub(crate) fn write_many(
        &self,
        operation: &str,
        subjects: &[Subject],
        mode: Mode,
    ) -> Vec<Result<EraseOutcome, ConnectorError>> {
        let s = match self.require_subjects(operation) {
            Ok(s) => s,
            Err(error) => return vec![Err(error); subjects.len()],
        };
        if mode == Mode::Anonymize && s.anonymize.is_empty() {
            let error = ConnectorError::Unsupported {
                operation: "anonymize (no subjects.anonymize columns configured)".to_owned(),
            };
            return vec![Err(error); subjects.len()];
        }
        let mut tally = self.tally();
        if mode == Mode::Erase && set_based::erase_deletes_only(&self.schema) {
            match self
                .database
                .transaction(|c| self.erase_set_based(c, subjects, &mut tally))
            {
                Ok(answers) => return refusals(answers.into_iter().map(Ok).collect()),
                Err(error) if error.connection_lost => {
                    return self.answers(operation, subjects.len(), Err(error))
                }
                // Rolled back; subject by subject below, each in its savepoint.
                Err(error) => self.set_based_failed(operation, &error),
            }
        }
        let results = self.database.transaction(|c| {
            each_written(c, subjects, |c, subject| {
                if let (Mode::Erase, Some(wanted)) = (mode, &subject.still_selected) {
                    let facts = facts::status(&self.schema, c, subject, &mut tally)?;
                    if let Err(why) = wanted.check(&facts) {
                        return Ok(Err(why));
                    }
                }
                erase::run(&self.schema, c, subject, mode).map(Ok)
            })
        });
        refusals(self.answers(operation, subjects.len(), results))
    }

    /// The batch's erase as one statement per table: the subjects whose facts no longer
    /// select them (checked one by one, in this transaction) are left out and answered why.
    fn erase_set_based(
        &self,
        c: &mut dyn Client,
        subjects: &[Subject],
        tally: &mut facts::Tally,
    ) -> Result<Vec<Result<EraseOutcome, String>>, DbError> {
        let mut answers: Vec<Option<Result<EraseOutcome, String>>> = vec![None; subjects.len()];
        let checked: Vec<usize> = (0..subjects.len())
            .filter(|&n| subjects[n].still_selected.is_some())
            .collect();
        let asked: Vec<Subject> = checked.iter().map(|&n| subjects[n].clone()).collect();
        let facts = facts::status_many(&self.schema, c, &asked, tally)?;
        for (n, facts) in checked.into_iter().zip(facts) {
            let wanted = subjects[n].still_selected.as_ref().expect("checked");
            if let Err(why) = wanted.check(&facts) {
                answers[n] = Some(Err(why));
            }
        }
        let erased: Vec<usize> = (0..subjects.len())
            .filter(|&n| answers[n].is_none())
            .collect();
        let asked: Vec<Subject> = erased.iter().map(|&n| subjects[n].clone()).collect();
        for (n, outcome) in erased
            .into_iter()
            .zip(set_based::erase_many(&self.schema, c, &asked)?)
        {
            answers[n] = Some(Ok(outcome));
        }
        Ok(answers
            .into_iter()
            .map(|a| a.expect("every subject answered"))
            .collect())
    }
}

/// A subject the account source no longer selects is refused, saying why.
fn refusals(
    answers: Vec<Result<Result<EraseOutcome, String>, ConnectorError>>,
) -> Vec<Result<EraseOutcome, ConnectorError>> {
    answers
        .into_iter()
        .map(|answer| {
            answer?.map_err(|why| ConnectorError::Refused {
                reason: format!("no longer selected: {why}"),
                legal_basis: None,
            })
        })
        .collect()
}

impl crate::SqlConnector {
    /// Says why a batch goes subject by subject (where set-based batches are possible at all:
    /// see `matching::batch_exact`); the error names tables and kinds, never a value.
    fn set_based_failed(&self, operation: &str, error: &DbError) {
        if crate::matching::batch_exact(self.schema.dialect) {
            tracing::warn!(
                system = %self.system,
                operation,
                %error,
                "a batch could not be done with one statement per table; subject by subject instead"
            );
        }
    }

    /// Each subject's answer: its own, or the batch's error for all when the batch failed
    /// as a whole.
    fn answers<T>(
        &self,
        operation: &str,
        asked: usize,
        results: Result<Vec<Result<T, DbError>>, DbError>,
    ) -> Vec<Result<T, ConnectorError>> {
        match results {
            Ok(results) => results
                .into_iter()
                .map(|r| r.map_err(|e| self.failed(operation, e)))
                .collect(),
            Err(error) => {
                let error = self.failed(operation, error);
                (0..asked).map(|_| Err(error.clone())).collect()
            }
        }
    }
}
