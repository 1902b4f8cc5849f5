//! The test connector's settings, and the ways its `validate` is broken on purpose.
//!
//! `validate` has no instance to read a [`super::memory::Flaw`] from, so its flaw travels in
//! the settings, and the store it wrongly empties is found in [`STORES`].

use std::sync::Mutex;

use gallra_plugin_api::ConnectorError;

use super::memory::Store;

/// The stores a validate broken on purpose may reach, by index.
static STORES: Mutex<Vec<Store>> = Mutex::new(Vec::new());

/// Makes `store` reachable from `validate`; returns its index for [`MemorySettings::store`].
pub fn register(store: &Store) -> usize {
    let mut stores = STORES.lock().unwrap();
    stores.push(store.clone());
    stores.len() - 1
}

/// How `validate` misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidateFlaw {
    #[default]
    None,
    /// Accepts a page size of 0.
    AcceptsAnything,
    /// Refuses it, naming another key.
    NamesAnotherKey,
    /// Refuses it with an error that names no key.
    NamesNoKey,
    /// Refuses it, after emptying the system.
    EmptiesTheSystem,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySettings {
    /// At least 1.
    page_size: u32,
    #[serde(default)]
    flaw: ValidateFlaw,
    /// The index of the store [`ValidateFlaw::EmptiesTheSystem`] empties.
    #[serde(default)]
    store: usize,
}

impl MemorySettings {
    pub fn validate(&self) -> Result<(), ConnectorError> {
        if self.page_size > 0 || self.flaw == ValidateFlaw::AcceptsAnything {
            return Ok(());
        }
        Err(match self.flaw {
            ValidateFlaw::NamesAnotherKey => ConnectorError::config("size", "must be at least 1"),
            ValidateFlaw::NamesNoKey => ConnectorError::permanent("page_size must be at least 1"),
            ValidateFlaw::EmptiesTheSystem => {
                STORES.lock().unwrap()[self.store].lock().unwrap().clear();
                ConnectorError::config("page_size", "must be at least 1")
            }
            _ => ConnectorError::config("page_size", "must be at least 1"),
        })
    }
}
