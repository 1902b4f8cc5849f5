//! Working the due requests as slots free: this daemon claims only what it can start now
//! ([`IN_FLIGHT`] at most in hand), starts each at once, and as each one ends releases it
//! and claims the next. Daemons sharing the store so share the due requests as they go,
//! instead of one of them holding a large claim while it works through it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{DriveError, DriveSummary, Engine, IN_FLIGHT};
use crate::store::RequestId;

/// What a finished request's work came to.
type Done = (RequestId, Result<(), DriveError>);

impl Engine {
    /// Works every request due at `now` until none is left to claim, [`IN_FLIGHT`] at a
    /// time. A request is worked once per drive (what stays due waits for the next drive);
    /// requests in flight finish, and are recorded, before an error stops the drive.
    pub(super) async fn work_due(&self, now: Timestamp) -> Result<DriveSummary, DriveError> {
        let mut summary = DriveSummary::default();
        let (mut work, mut in_hand, mut seen) = (JoinSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut failed: Option<DriveError> = None;
        let (mut exhausted, mut renewed) = (false, Instant::now());
        loop {
            if failed.is_none() && !exhausted && !self.stopping() && in_hand.len() < IN_FLIGHT {
                match self.claim_more(now, &in_hand, &seen, &mut renewed) {
                    Ok(fresh) if fresh.is_empty() => exhausted = true,
                    Ok(fresh) => {
                        for id in fresh {
                            in_hand.insert(id);
                            seen.insert(id);
                            self.start(&mut work, id, now);
                        }
                    }
                    Err(error) => failed = Some(error),
                }
            }
            let Some(joined) = work.join_next().await else {
                return failed.map_or(Ok(summary), Err);
            };
            match joined {
                Ok((id, result)) => {
                    in_hand.remove(&id);
                    summary.worked += 1;
                    self.release(&[id]);
                    if let Err(error) = result {
                        failed.get_or_insert(error);
                    }
                }
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {}
            }
        }
    }

    /// Claims as many due requests as there is room for, leaving out those in hand or
    /// worked already in this drive (given back at once). Renews this node's leases first
    /// when a third of a lease has passed (`gallra run --once` has no renewer of its own).
    fn claim_more(
        &self,
        now: Timestamp,
        in_hand: &BTreeSet<RequestId>,
        seen: &BTreeSet<RequestId>,
        renewed: &mut Instant,
    ) -> Result<Vec<RequestId>, DriveError> {
        if renewed.elapsed() > self.context.config.state_store.lease / 3 {
            self.store.renew_leases()?;
            *renewed = Instant::now();
        }
        let room = IN_FLIGHT - in_hand.len();
        // This node's own requests in hand come back from the claim too.
        let due = self.store.claim_requests(now, room + in_hand.len())?;
        let (fresh, extra): (Vec<RequestId>, Vec<RequestId>) = due
            .into_iter()
            .filter(|id| !in_hand.contains(id))
            .partition(|id| !seen.contains(id));
        self.release(&extra);
        Ok(fresh.into_iter().take(room).collect())
    }

    /// Starts the work on one request.
    fn start(&self, work: &mut JoinSet<Done>, id: RequestId, now: Timestamp) {
        let engine = self.clone();
        work.spawn(async move {
            let span = tracing::info_span!("request", id = id.0);
            (id, engine.process(id, now).instrument(span).await)
        });
    }

    /// Gives this node's claims on `ids` back. Not fatal when it cannot: the leases run out,
    /// and this node takes its own back at once.
    fn release(&self, ids: &[RequestId]) {
        if let Err(error) = self.store.release_requests(ids) {
            tracing::warn!(%error, "cannot release this node's requests; other daemons take them up when the leases run out");
        }
    }
}

/// How long an idle daemon sharing its store sleeps at most, so that requests another
/// daemon held when it died are taken up soon after its lease runs out.
pub const SHARED_IDLE_WAKE: Duration = Duration::from_secs(5);
