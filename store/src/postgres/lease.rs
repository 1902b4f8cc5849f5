//! [`LeaseStore`] on PostgreSQL: this node's leases, on a run's tasks and a request's alike.

use super::PostgresStore;
use crate::{LeaseStore, Result};

impl LeaseStore for PostgresStore {
    fn renew_leases(&self) -> Result<u64> {
        self.write(|tx, ctx| {
            let (node, until) = (&ctx.lease.node, ctx.lease.until_now());
            let mut renewed = 0;
            for table in ["tasks", "request_tasks"] {
                renewed += tx.execute(
                    &format!(
                        "UPDATE {table} SET lease_until = $2
                         WHERE state = 'running' AND lease_node = $1"
                    ),
                    &[node, &until],
                )?;
            }
            Ok(renewed)
        })
    }
}
