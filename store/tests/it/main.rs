//! gallra-store's integration tests: the SQLite backend passes the whole conformance suite,
//! one `#[test]` per case, each on a fresh database in its own directory.

use gallra_store::{Backend, SqliteStore};

/// Runs one case on a fresh SQLite store; the directory goes with it.
fn with_sqlite(case: impl FnOnce(&dyn Backend)) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    case(&store);
}

gallra_store::backend_conformance!(with_sqlite);

#[test]
fn the_suite_lists_each_case_once() {
    let cases = gallra_store::conformance::cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}
