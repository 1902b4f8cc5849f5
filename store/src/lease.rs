//! Keeping this node's leases alive (see [`crate::Lease`]).

use crate::Result;

/// The leases of the tasks this node runs, a run's and a request's alike.
pub trait LeaseStore: Send + Sync {
    /// Extends the lease of every task and request this node is working from now; returns
    /// how many. A node calls it while it works, well within a lease's length.
    fn renew_leases(&self) -> Result<u64>;

    /// This node's name, as its leases carry it.
    fn node(&self) -> &str;

    /// How many running tasks (a run's and a request's) and claimed requests have a lease
    /// that ran out: their node stopped renewing (it died, or lost the database), and no node
    /// has taken them over yet. Any node may; a count that stays above zero says none does.
    fn expired_leases(&self) -> Result<u64>;
}

/// The scheduler's leadership: one node at a time starts policy runs (every node works
/// their tasks). Held as a lease row, not an advisory lock, so that it survives a
/// transaction-pooling connection pooler and shows who holds it and until when.
pub trait LeaderStore: Send + Sync {
    /// Takes the leadership for this node if no live lease holds it, or extends this node's,
    /// until a lease's length from now. Returns whether this node leads.
    fn lead(&self) -> Result<bool>;

    /// Gives the leadership up if this node holds it (a clean stop), so that another node
    /// takes it at its next try rather than when the lease runs out.
    fn resign(&self) -> Result<()>;

    /// The node that leads and when its lease ends (seconds since 1970), if one ever led.
    fn leader(&self) -> Result<Option<(String, i64)>>;
}
