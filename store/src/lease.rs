//! Keeping this node's leases alive (see [`crate::Lease`]).

use crate::Result;

/// The leases of the tasks this node runs, a run's and a request's alike.
pub trait LeaseStore: Send + Sync {
    /// Extends the lease of every task this node is running from now; returns how many. A
    /// node calls it while it works, well within a lease's length.
    fn renew_leases(&self) -> Result<u64>;
}
