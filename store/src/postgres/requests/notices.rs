//! Table `notices`: the deletion notices of notify tasks, their reminders and escalation.

use jiff::Timestamp;

use super::super::PostgresStore;
use crate::columns::{self, at, NOTICE_COLUMNS};
use crate::{NoticeRecord, RequestTaskId, Result};

/// The first notice inserts the row; every later one is a reminder.
const SENT: &str = "INSERT INTO notices (task, first_sent_at, last_sent_at) VALUES ($1, $2, $2)
    ON CONFLICT (task) DO UPDATE SET last_sent_at = $2, reminders = notices.reminders + 1
    RETURNING first_sent_at, last_sent_at, reminders, escalated_at";

const ESCALATED: &str =
    "UPDATE notices SET escalated_at = $2 WHERE task = $1 AND escalated_at IS NULL";

pub(super) fn sent(
    store: &PostgresStore,
    task: RequestTaskId,
    sent_at: Timestamp,
) -> Result<NoticeRecord> {
    let sent_at = at(sent_at);
    store.write(move |tx, _| columns::notice(&tx.query_one(SENT, &[&task.0, &sent_at])?))
}

pub(super) fn get(store: &PostgresStore, task: RequestTaskId) -> Result<Option<NoticeRecord>> {
    store.read(move |client, _| {
        let sql = format!("{NOTICE_COLUMNS} WHERE task = $1");
        let row = client.query_opt(&sql, &[&task.0])?;
        row.as_ref().map(columns::notice).transpose()
    })
}

pub(super) fn escalated(store: &PostgresStore, task: RequestTaskId, when: Timestamp) -> Result<()> {
    let when = at(when);
    store.write(move |tx, _| {
        tx.execute(ESCALATED, &[&task.0, &when])?;
        Ok(())
    })
}
