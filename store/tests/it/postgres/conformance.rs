//! The backend conformance suite on PostgreSQL, one `#[test]` per case.

use gallra_store::{Backend, Lease};

use super::server::Schema;

/// Runs one case on a store in a fresh schema, which goes with it.
fn with_postgres(case: impl FnOnce(&dyn Backend)) {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let store = schema.open(Lease::default());
    case(&store);
}

/// Runs one two-node case: each handle is another store on the same fresh schema.
fn with_postgres_nodes(case: impl FnOnce(gallra_store::conformance::leases::Open<'_>)) {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let open = |lease: Lease| -> Box<dyn Backend> { Box::new(schema.open(lease)) };
    case(&open);
}

gallra_store::backend_conformance!(with_postgres, nodes: with_postgres_nodes);
