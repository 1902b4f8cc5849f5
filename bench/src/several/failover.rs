//! Failover: three daemons working erasure requests, and the one that leads killed with
//! SIGKILL while it holds some of them. Timed from the kill until another daemon leads (the
//! store's `leader` row names it) and until every request the dead daemon held is taken
//! over by another (or was done), then the requests are carried to the end and checked.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use super::nodes::Nodes;
use super::setup::{self, World};
use crate::postgres_db::Server;
use crate::propagation::submit;
use crate::Harness;

/// The lease every daemon runs with (`[state_store] lease`).
pub const LEASE_SECS: u64 = 4;
/// The target of issue #16: the work of a dead daemon is taken over within its lease and 5 s.
pub const TARGET_SECS: f64 = LEASE_SECS as f64 + 5.0;
/// Longer than this for the takeover is a hang.
const PATIENCE: Duration = Duration::from_secs(150);

/// What one failover came to.
pub struct Failover {
    /// From the kill until another daemon led.
    pub leader_secs: f64,
    /// From the kill until none of the requests the dead daemon held was still its own.
    pub takeover_secs: f64,
    /// Requests the dead daemon held when it was killed.
    pub held: usize,
    /// DELETEs answered 404, over the three APIs: steps the dead daemon may have made before
    /// it died, made again by the daemon that took its request over.
    pub repeats: usize,
    /// Calls of the dead daemon still waiting for their answer when it died, which the APIs
    /// never sent (their logs keep the 429 they start with).
    pub cut: usize,
}

pub fn run(h: &Harness, server: &Server, dir: &std::path::Path, n: usize) -> Result<Failover> {
    let world = World::prepare(server, dir, n)?;
    let lease = format!("{LEASE_SECS}s");
    let mut nodes = Nodes::start(&h.gallra(), dir, 3, world.store_url(), |state, node| {
        world.config(state, node, &lease)
    })?;
    setup::submit_all(&nodes.apis(), n)?;
    // Under way, and the leader holds requests of its own.
    let mut leader = String::new();
    setup::wait_for("a leader holding requests", PATIENCE, || {
        let (done, _) = nodes.done_of_all()?;
        leader = nodes.leader()?.unwrap_or_default();
        Ok(done as usize >= n / 10 && !leader.is_empty() && !nodes.held_by(&leader)?.is_empty())
    })?;
    let held = nodes.held_by(&leader)?;
    let victim = (nodes.nodes.iter())
        .position(|node| node.name == leader)
        .context("the leader is none of the daemons")?;
    let killed = Instant::now();
    nodes.kill(victim)?;

    let (mut leader_secs, mut takeover_secs) = (None, None);
    setup::wait_for("the dead leader's work taken over", PATIENCE, || {
        let now = killed.elapsed().as_secs_f64();
        if leader_secs.is_none() && nodes.leader()?.is_some_and(|l| l != leader) {
            leader_secs = Some(now);
        }
        if takeover_secs.is_none() && nodes.still_held(&held, &leader)? == 0 {
            takeover_secs = Some(now);
        }
        Ok(leader_secs.is_some() && takeover_secs.is_some())
    })?;
    setup::wait_for("every request settled", PATIENCE, || {
        let (done, all) = nodes.done_of_all()?;
        Ok(done == all && all as usize == n)
    })
    .with_context(|| nodes.not_done().unwrap_or_default())?;

    let (repeats, cut) = check(&world, n, held.len())?;
    nodes.stop()?;
    Ok(Failover {
        leader_secs: leader_secs.unwrap_or_default(),
        takeover_secs: takeover_secs.unwrap_or_default(),
        held: held.len(),
        repeats,
        cut,
    })
}

/// Every user erased at every API and in the account source, by one successful DELETE each;
/// otherwise only what the dead daemon's requests explain: a DELETE answered 404 (the user was
/// gone already) and calls it never had answered (the API's log keeps their first status,
/// 429), each fewer than the requests it held. Returns the 404s and the calls cut off.
fn check(world: &World, n: usize, held: usize) -> Result<(usize, usize)> {
    let (mut repeats, mut cut) = (0, 0);
    for api in &world.apis {
        let t = api.tally();
        let name = api.name;
        ensure!(t.left == 0, "{name}: {} of {n} users not erased", t.left);
        ensure!(
            t.deleted == n,
            "{name}: {} DELETEs for {n} users",
            t.deleted
        );
        let count = |status: u16| t.other.iter().filter(|&&s| s == status).count();
        let (again, unanswered) = (count(404), count(429));
        ensure!(
            again + unanswered == t.other.len() && again <= held && unanswered <= held,
            "{name}: {} answers other than 200/204 ({:?}), and the dead daemon held {held} requests",
            t.other.len(),
            &t.other[..t.other.len().min(10)]
        );
        repeats += again;
        cut += unanswered;
    }
    let left = submit::customers_left(&world.source)?;
    ensure!(left == 0, "{left} customers left in the account source");
    Ok((repeats, cut))
}
