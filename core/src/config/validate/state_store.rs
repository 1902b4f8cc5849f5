//! `[state_store]`: SQLite in `state_dir` for one daemon, or PostgreSQL for several.

use std::path::Path;
use std::time::Duration;

use super::{resolve, Problems};
use crate::config::raw::RawStateStore;
use crate::config::types::{StateBackend, StateStoreConfig, DEFAULT_LEASE};

/// The shortest lease accepted: a lease is renewed every third of its length, and a renewal
/// is one short database write.
const SHORTEST_LEASE: Duration = Duration::from_secs(3);

/// `[state_store]`, or the single-host default without one.
pub(super) fn state_store(
    raw: Option<&RawStateStore>,
    dir: &Path,
    p: &mut Problems,
) -> Option<StateStoreConfig> {
    let Some(raw) = raw else {
        return Some(StateStoreConfig::default());
    };
    let backend = match (raw.backend.as_deref().unwrap_or("sqlite"), &raw.url_file) {
        ("sqlite", None) => Some(StateBackend::Sqlite),
        ("sqlite", Some(_)) => {
            p.at(
                "state_store.url_file",
                "only backend = \"postgresql\" reads a URL: remove url_file, or set the backend",
            );
            None
        }
        ("postgresql", Some(file)) => resolve(dir, "state_store.url_file", file.clone(), p)
            .map(|url_file| StateBackend::Postgresql { url_file }),
        ("postgresql", None) => {
            p.at(
                "state_store.url_file",
                "backend = \"postgresql\" needs url_file: a file (mode 0600) holding the database's URL, e.g. postgres://gallra@db.example/gallra",
            );
            None
        }
        (other, _) => {
            p.at(
                "state_store.backend",
                format!("unknown backend \"{other}\" (write \"sqlite\" or \"postgresql\")"),
            );
            None
        }
    };
    let node = match raw.node.as_deref() {
        Some(node) if !valid_node(node) => {
            p.at(
                "state_store.node",
                "a node name uses only a-z, 0-9, '_', '-' and '.' (at most 63 of them)",
            );
            None
        }
        node => Some(node.map(str::to_owned)),
    };
    let lease = match raw.lease.as_deref() {
        None => Some(DEFAULT_LEASE),
        Some(text) => p
            .ok("state_store.lease", super::timeout(text))
            .and_then(|lease| {
                if lease < SHORTEST_LEASE {
                    p.at("state_store.lease", "a lease shorter than 3 seconds would be spent renewing it: write e.g. \"2 minutes\"");
                    return None;
                }
                Some(lease)
            }),
    };
    Some(StateStoreConfig {
        backend: backend?,
        node: node?,
        lease: lease?,
    })
}

/// A node's name is part of audit file names and metric labels: short and plain.
fn valid_node(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
        && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: RawStateStore) -> (Option<StateStoreConfig>, Vec<String>) {
        let mut p = Problems::default();
        let got = state_store(Some(&raw), Path::new("/etc/gallra"), &mut p);
        (got, p.0.into_iter().map(|e| e.key).collect())
    }

    fn raw(backend: &str, url_file: Option<&str>) -> RawStateStore {
        RawStateStore {
            backend: Some(backend.into()),
            url_file: url_file.map(Into::into),
            node: None,
            lease: None,
        }
    }

    #[test]
    fn postgresql_needs_a_url_file_resolved_beside_the_config() {
        let (got, _) = check(raw("postgresql", Some("state.url")));
        assert_eq!(
            got.unwrap().backend,
            StateBackend::Postgresql {
                url_file: "/etc/gallra/state.url".into()
            }
        );
        assert_eq!(check(raw("postgresql", None)).1, ["state_store.url_file"]);
    }

    #[test]
    fn an_unknown_backend_and_a_bad_node_and_lease_name_their_keys() {
        let (got, keys) = check(RawStateStore {
            node: Some("Web 1".into()),
            lease: Some("1s".into()),
            ..raw("mysql", None)
        });
        assert!(got.is_none());
        assert_eq!(
            keys,
            [
                "state_store.backend",
                "state_store.node",
                "state_store.lease"
            ]
        );
    }

    #[test]
    fn without_the_table_the_store_is_sqlite_with_five_minute_leases() {
        let mut p = Problems::default();
        let got = state_store(None, Path::new("/"), &mut p).unwrap();
        assert_eq!(got, StateStoreConfig::default());
        assert_eq!(got.lease, Duration::from_secs(300));
    }
}
