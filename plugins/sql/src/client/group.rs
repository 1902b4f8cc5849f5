//! The one connection of a connector instance, and group commit on it.
//!
//! gallra records a task as done when `erase` answers, so an erase must be durable before it
//! answers. A commit costs a flush to disk (SQLite's WAL or journal, the server's log for
//! PostgreSQL and MySQL), and one commit per subject made a purge wait on the disk for every
//! subject: 150,000 flushes to purge 50,000 customers from three systems.
//!
//! So the write transactions of calls that arrive together share one database transaction.
//! Each call's work runs in a savepoint inside the transaction open on the connection. A call
//! that finds others queued behind it leaves the transaction open for them and waits; the
//! last in line commits it for everyone and wakes them. No call answers before the commit
//! that holds its work has succeeded, so nothing is reported done that a crash could undo.
//!
//! - A call whose own work fails is rolled back to its savepoint and answers at once; the
//!   others' work is unaffected.
//! - A failed commit (or a lost connection, or a panic) fails every call of the group, and
//!   each is retried by gallra; every operation is idempotent.
//! - A read ([`Shared::enter`] with `Use::Read`) commits an open group before it runs, so it
//!   never sees uncommitted work.
//! - A group closes after [`MAX_MEMBERS`] calls or [`MAX_OPEN`], so the database's write lock
//!   is never held long against the application that owns it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Client, DbError};

/// Calls whose work one commit may carry.
pub const MAX_MEMBERS: usize = 64;
/// How long a group's transaction may stay open while more calls join it.
pub const MAX_OPEN: Duration = Duration::from_millis(20);

const SAVEPOINT: &str = "SAVEPOINT gallra_call";
const RELEASE: &str = "RELEASE SAVEPOINT gallra_call";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT gallra_call";

/// The connection and the transaction its calls share.
pub struct Shared {
    state: Mutex<State>,
    /// Calls waiting to take `state`. A call leaves its group open only while this is not
    /// zero: a queued call is then bound to find the group and commit it or join it.
    queued: AtomicUsize,
    /// Signalled when a group's outcome is known.
    settled: Condvar,
}

/// What sits behind the lock.
pub struct State {
    /// The connection; `None` until connected, and after it broke.
    pub client: Option<Box<dyn Client>>,
    /// The transaction open on `client`. Invariant: `Some` only while `client` is.
    group: Option<Group>,
    next_group: u64,
    /// Outcomes of finished groups, until every waiting member has read its own.
    outcomes: HashMap<u64, Outcome>,
}

struct Group {
    id: u64,
    /// Calls whose work is in the transaction.
    members: usize,
    /// Members waiting for the commit.
    waiting: usize,
    opened: Instant,
}

struct Outcome {
    result: Result<(), DbError>,
    unread: usize,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                client: None,
                group: None,
                next_group: 0,
                outcomes: HashMap::new(),
            }),
            queued: AtomicUsize::new(0),
            settled: Condvar::new(),
        }
    }

    /// Takes the connection for a read: an open group is committed first.
    pub fn read(&self) -> MutexGuard<'_, State> {
        let mut state = self.enter();
        if state.group.is_some() {
            // Its members learn the outcome; the read goes on either way.
            let _ = self.commit(&mut state);
        }
        state
    }

    /// Runs `work` in a savepoint of the shared transaction (opened with `begin` if none
    /// is), and returns once the transaction holding it has committed. `connect` opens the
    /// connection if there is none.
    pub fn write<T>(
        &self,
        begin: &str,
        connect: impl FnOnce() -> Result<Box<dyn Client>, DbError>,
        work: impl FnOnce(&mut dyn Client) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut state = self.enter();
        if state.client.is_none() {
            state.client = Some(connect()?);
        }
        if state.group.is_none() {
            if let Err(e) = client(&mut state).batch(begin) {
                if e.connection_lost {
                    state.client = None;
                }
                return Err(e);
            }
            state.group = Some(Group {
                id: state.next_group,
                members: 0,
                waiting: 0,
                opened: Instant::now(),
            });
            state.next_group += 1;
        }
        if let Err(e) = client(&mut state).batch(SAVEPOINT) {
            self.fail(&mut state, &e);
            return Err(e);
        }
        let result = self.guarded(&mut state, work);
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                if e.connection_lost {
                    self.fail(&mut state, &e);
                    return Err(e);
                }
                let undone = client(&mut state)
                    .batch(ROLLBACK_TO)
                    .and_then(|()| client(&mut state).batch(RELEASE));
                if let Err(rollback) = undone {
                    tracing::warn!(error = %rollback, "rollback to savepoint failed");
                    let lost = DbError {
                        connection_lost: true,
                        ..e
                    };
                    self.fail(&mut state, &lost);
                    return Err(lost);
                }
                // Nothing of ours is in the group, but its members may be counting on us.
                if !self.hand_over(&state) {
                    let _ = self.commit(&mut state);
                }
                return Err(e);
            }
        };
        if let Err(e) = client(&mut state).batch(RELEASE) {
            self.fail(&mut state, &e);
            return Err(e);
        }
        let group = state.group.as_mut().expect("open while we hold the lock");
        group.members += 1;
        let full = group.members >= MAX_MEMBERS || group.opened.elapsed() >= MAX_OPEN;
        if full || !self.hand_over(&state) {
            return self.commit(&mut state).map(|()| value);
        }
        let group = state.group.as_mut().expect("open while we hold the lock");
        group.waiting += 1;
        let id = group.id;
        loop {
            state = self
                .settled
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(outcome) = state.outcomes.get_mut(&id) {
                let result = outcome.result.clone();
                outcome.unread -= 1;
                if outcome.unread == 0 {
                    state.outcomes.remove(&id);
                }
                return result.map(|()| value);
            }
        }
    }

    /// Runs `work` on the connection, committing nothing. A panic in it drops the
    /// connection (rolling back whatever it had open) and fails the open group before it
    /// goes on unwinding, so no member waits for a commit that will never come.
    pub fn guarded<T>(
        &self,
        state: &mut MutexGuard<'_, State>,
        work: impl FnOnce(&mut dyn Client) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let client = client(state);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(client))) {
            Ok(result) => result,
            Err(panic) => {
                self.fail(
                    state,
                    &DbError::connection_lost("a call on this connection panicked"),
                );
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// Takes the lock, counted as queued while waiting for it.
    fn enter(&self) -> MutexGuard<'_, State> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().unwrap_or_else(|poisoned| {
            // Only a bug in this module can poison the lock: start again from nothing.
            self.state.clear_poison();
            let mut state = poisoned.into_inner();
            self.fail(
                &mut state,
                &DbError::connection_lost("the connection's lock was poisoned"),
            );
            state
        });
        self.queued.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// Whether a call is queued to take over the open group.
    fn hand_over(&self, state: &State) -> bool {
        state.group.is_some() && self.queued.load(Ordering::SeqCst) > 0
    }

    /// Commits the open group and tells its waiting members how it went.
    fn commit(&self, state: &mut State) -> Result<(), DbError> {
        let Some(group) = state.group.take() else {
            return Ok(());
        };
        let client = state.client.as_mut().expect("a group implies a connection");
        let result = client.batch("COMMIT");
        if let Err(e) = &result {
            if e.connection_lost || client.batch("ROLLBACK").is_err() {
                state.client = None;
            }
        }
        self.publish(state, group, result.clone());
        result
    }

    /// Drops the connection (rolling back the open transaction) and fails the open group.
    fn fail(&self, state: &mut State, error: &DbError) {
        state.client = None;
        if let Some(group) = state.group.take() {
            let error = DbError {
                transient: true,
                connection_lost: true,
                ..error.clone()
            };
            self.publish(state, group, Err(error));
        }
    }

    fn publish(&self, state: &mut State, group: Group, result: Result<(), DbError>) {
        if group.waiting > 0 {
            state.outcomes.insert(
                group.id,
                Outcome {
                    result,
                    unread: group.waiting,
                },
            );
            self.settled.notify_all();
        }
    }
}

fn client(state: &mut State) -> &mut dyn Client {
    state
        .client
        .as_deref_mut()
        .expect("connected before any statement")
}

#[cfg(test)]
mod tests;
