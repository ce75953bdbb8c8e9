//! A store in memory, gone when the node stops (tests, `--ephemeral`).

use super::{prefix_end, Store, StoreError, Transaction};
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

/// A [`Store`] in a `BTreeMap`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl Store for MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    fn transact(&self, txn: Transaction) -> Result<(), StoreError> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        for (key, expected) in &txn.checks {
            if entries.get(key) != expected.as_ref() {
                return Err(StoreError::Conflict { key: key.clone() });
            }
        }
        for (key, value) in txn.writes {
            match value {
                Some(v) => entries.insert(key, v),
                None => entries.remove(&key),
            };
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let end = prefix_end(prefix);
        Ok(entries
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| end.as_deref().is_none_or(|e| k.as_str() < e))
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_store_contract() {
        super::super::contract::store_contract(&super::MemoryStore::default());
    }
}
