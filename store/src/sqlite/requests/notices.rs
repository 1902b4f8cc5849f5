//! Table `notices` (schema version 4): the deletion notices of notify tasks, their reminders
//! and escalation.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

use super::at;
use crate::columns::{self, NOTICE_COLUMNS};
use crate::sqlite::SqliteStore;
use crate::RequestTaskId;
use crate::{NoticeRecord, Result};

const GET: &str = "WHERE task = ?1";

/// The first notice inserts the row; every later one is a reminder.
const SENT: &str = "INSERT INTO notices (task, first_sent_at, last_sent_at) VALUES (?1, ?2, ?2)
    ON CONFLICT (task) DO UPDATE SET last_sent_at = ?2, reminders = reminders + 1";

const ESCALATED: &str =
    "UPDATE notices SET escalated_at = ?2 WHERE task = ?1 AND escalated_at IS NULL";

pub(super) fn sent(
    store: &SqliteStore,
    task: RequestTaskId,
    sent_at: Timestamp,
) -> Result<NoticeRecord> {
    store.write(|tx| {
        tx.prepare_cached(SENT)?
            .execute(params![task, at(sent_at)])?;
        Ok(tx
            .prepare_cached(&format!("{NOTICE_COLUMNS} {GET}"))?
            .query_row([task], notice_from_row)?)
    })
}

pub(super) fn get(store: &SqliteStore, task: RequestTaskId) -> Result<Option<NoticeRecord>> {
    store.read(|conn| {
        Ok(conn
            .prepare_cached(&format!("{NOTICE_COLUMNS} {GET}"))?
            .query_row([task], notice_from_row)
            .optional()?)
    })
}

pub(super) fn escalated(store: &SqliteStore, task: RequestTaskId, when: Timestamp) -> Result<()> {
    store.write(|tx| {
        tx.prepare_cached(ESCALATED)?
            .execute(params![task, at(when)])?;
        Ok(())
    })
}

fn notice_from_row(r: &Row<'_>) -> rusqlite::Result<NoticeRecord> {
    columns::notice(r)
}
