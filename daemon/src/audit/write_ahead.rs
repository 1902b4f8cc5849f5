//! The write-ahead order every engine keeps around an erasure, in one place:
//!
//! 1. the task is marked running in the state store ([`announce`]'s `start`);
//! 2. the audit log gets an entry saying it is about to be attempted (one write, one fsync);
//!    if it cannot, `release` puts the task back and nothing is attempted;
//! 3. the connector is called;
//! 4. the audit log gets the outcome ([`record`]); if it cannot, nothing is committed and the
//!    task stays running;
//! 5. only then does the state store commit the outcome.
//!
//! A process stopped anywhere leaves every erasure it made in the log; a task left running is
//! taken up again, and its new entries say so ([`again`]).

use super::{write, AuditLog, AuditUnavailable, NewEntry};
use crate::audit::words::AGAIN;

/// Marks work started (`start`), then writes `intents` to the log. If the log cannot take
/// them, `release` undoes what `start` did (its own failure only logged: the next pass
/// takes the work up again) and the log's error is returned: nothing was attempted.
pub fn announce<E: From<AuditUnavailable> + std::fmt::Display>(
    audit: &AuditLog,
    start: impl FnOnce() -> Result<(), E>,
    intents: &[NewEntry],
    release: impl FnOnce() -> Result<(), E>,
) -> Result<(), E> {
    start()?;
    if let Err(error) = write(audit, intents) {
        if let Err(also) = release() {
            tracing::error!(error = %also, "work stays marked running, though none was attempted; the next pass does it");
        }
        return Err(error.into());
    }
    Ok(())
}

/// Writes `outcomes` to the log, then `commit`s them to the state store. If the log cannot
/// take them nothing is committed: the work stays running and is done again.
pub fn record<T, E: From<AuditUnavailable>>(
    audit: &AuditLog,
    outcomes: &[NewEntry],
    commit: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    write(audit, outcomes)?;
    commit()
}

/// The detail of an entry for work taken up again after an interruption: [`AGAIN`], then
/// what there is to say.
pub fn again(detail: Option<String>) -> String {
    match detail {
        Some(detail) => format!("{AGAIN}: {detail}"),
        None => AGAIN.to_owned(),
    }
}
