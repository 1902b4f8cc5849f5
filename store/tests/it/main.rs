//! gallra-store's integration tests: the SQLite backend passes the whole conformance suite,
//! one `#[test]` per case, each on a fresh database in its own directory; the PostgreSQL
//! backend passes it too ([`postgres`]).

use gallra_store::{Backend, Lease, SqliteStore};

mod postgres;

/// Runs one case on a fresh SQLite store; the directory goes with it.
fn with_sqlite(case: impl FnOnce(&dyn Backend)) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    case(&store);
}

/// Runs one two-node case: each handle opens the same fresh database as another node.
fn with_sqlite_nodes(case: impl FnOnce(gallra_store::conformance::leases::Open<'_>)) {
    let dir = tempfile::tempdir().unwrap();
    let open = |lease: Lease| -> Box<dyn Backend> {
        Box::new(SqliteStore::open(dir.path()).unwrap().leasing(lease))
    };
    case(&open);
}

gallra_store::backend_conformance!(with_sqlite, nodes: with_sqlite_nodes);

#[test]
fn the_suite_lists_each_case_once() {
    let cases = gallra_store::conformance::cases();
    let nodes = gallra_store::conformance::node_cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.extend(nodes.iter().map(|c| c.name));
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len() + nodes.len());
}
