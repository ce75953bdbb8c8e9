//! The default store: one redb file under the data folder.
//!
//! Writes go through one writer thread that commits them in groups: every transaction waiting
//! when a commit starts shares it (and its sync), so many concurrent durable writes cost one
//! sync, and a caller hears back only once its write is on disk. Each transaction's checks see
//! the writes of the transactions before it in the group, so the result is exactly that of
//! running them one after another.

use super::{prefix_end, Store, StoreError, Transaction};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");

/// Most transactions one commit carries.
const MAX_GROUP: usize = 512;

struct Job {
    txn: Transaction,
    reply: SyncSender<Result<(), StoreError>>,
}

/// The store's page cache. redb's default (1 GiB) lets a long-running node's memory grow with
/// its data for as long as it runs. The working set is small — the latest state of each process
/// is kept in memory by `process@1.0`, schedules are appended — so 16 MiB serves it, and the
/// node's resident size is flat once the cache has filled (`make soak`, docs/reliability.md:
/// with 64 MiB it took eight minutes of writes to fill).
pub const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// A [`Store`] in a redb file.
pub struct EmbeddedStore {
    db: Arc<Database>,
    jobs: Mutex<Sender<Job>>,
    path: std::path::PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl EmbeddedStore {
    /// Opens (creating it and its folder if needed) the store file at `path`, with a page cache of
    /// [`CACHE_BYTES`].
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| backend(format!("{}: {e}", dir.display())))?;
        }
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| backend(format!("{}: {e}", path.display())))?;
        let setup = db.begin_write().map_err(backend)?;
        setup.open_table(ENTRIES).map_err(backend)?;
        setup.commit().map_err(backend)?;
        let db = Arc::new(db);
        let (tx, rx) = channel();
        let writer_db = db.clone();
        std::thread::Builder::new()
            .name("ferrobeam-store".to_owned())
            .spawn(move || write_loop(&writer_db, &rx))
            .map_err(backend)?;
        Ok(EmbeddedStore {
            db,
            jobs: Mutex::new(tx),
            path: path.to_owned(),
        })
    }
}

fn write_loop(db: &Database, jobs: &Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcomes = commit_group(db, &group);
        match outcomes {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Applies a group in one write transaction; per-transaction results, or one error for all.
fn commit_group(db: &Database, group: &[Job]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut wtx = db.begin_write().map_err(backend)?;
    let durable = group.iter().any(|j| j.txn.durable);
    wtx.set_durability(if durable {
        Durability::Immediate
    } else {
        Durability::None
    })
    .map_err(backend)?;
    let mut results = Vec::with_capacity(group.len());
    {
        let mut table = wtx.open_table(ENTRIES).map_err(backend)?;
        for job in group {
            let mut conflict = None;
            for (key, expected) in &job.txn.checks {
                let current = table
                    .get(key.as_str())
                    .map_err(backend)?
                    .map(|v| v.value().to_vec());
                if current.as_ref() != expected.as_ref() {
                    conflict = Some(key.clone());
                    break;
                }
            }
            if let Some(key) = conflict {
                results.push(Err(StoreError::Conflict { key }));
                continue;
            }
            for (key, value) in &job.txn.writes {
                match value {
                    Some(v) => {
                        table.insert(key.as_str(), v.as_slice()).map_err(backend)?;
                    }
                    None => {
                        table.remove(key.as_str()).map_err(backend)?;
                    }
                }
            }
            results.push(Ok(()));
        }
    }
    wtx.commit().map_err(backend)?;
    Ok(results)
}

impl Store for EmbeddedStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rtx = self.db.begin_read().map_err(backend)?;
        let table = rtx.open_table(ENTRIES).map_err(backend)?;
        Ok(table.get(key).map_err(backend)?.map(|v| v.value().to_vec()))
    }

    fn transact(&self, txn: Transaction) -> Result<(), StoreError> {
        let (reply, answer) = sync_channel(1);
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Job { txn, reply })
            .map_err(|_| backend("the store's writer has stopped"))?;
        answer
            .recv()
            .map_err(|_| backend("the store's writer has stopped"))?
    }

    fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rtx = self.db.begin_read().map_err(backend)?;
        let table = rtx.open_table(ENTRIES).map_err(backend)?;
        let start = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let end = prefix_end(prefix);
        let range = match &end {
            Some(end) => table.range(start..end.as_str()),
            None => table.range(start..),
        }
        .map_err(backend)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in range {
            let (k, v) = entry.map_err(backend)?;
            let key = k.value();
            if after.is_some_and(|a| key <= a) {
                continue;
            }
            out.push((key.to_owned(), v.value().to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// A durable empty commit: redb syncs everything committed before it, so the writes made
    /// without a sync are on disk once it returns.
    fn flush(&self) -> Result<(), StoreError> {
        self.transact(Transaction {
            checks: Vec::new(),
            writes: Vec::new(),
            durable: true,
        })
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_makes_unsynced_writes_durable_and_the_size_is_known() {
        let path = temp("flush");
        let store = EmbeddedStore::open(&path).unwrap();
        store
            .transact(Transaction {
                checks: Vec::new(),
                writes: vec![("cache".to_owned(), Some(b"v".to_vec()))],
                durable: false,
            })
            .unwrap();
        store.flush().unwrap();
        assert!(store.size_bytes().unwrap() > 0);
        drop(store);
        let reopened = (0..50)
            .find_map(|_| {
                EmbeddedStore::open(&path).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .unwrap();
        assert_eq!(reopened.read("cache").unwrap(), Some(b"v".to_vec()));
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fb-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("ferrobeam.redb")
    }

    #[test]
    fn keeps_the_store_contract() {
        let path = temp("contract");
        super::super::contract::store_contract(&EmbeddedStore::open(&path).unwrap());
    }

    #[test]
    fn acknowledged_writes_survive_reopening() {
        let path = temp("reopen");
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.write("k", b"v").unwrap();
        }
        // The writer thread of the first handle may still hold the file for a moment.
        let store = (0..50)
            .find_map(|_| {
                EmbeddedStore::open(&path).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .unwrap();
        assert_eq!(store.read("k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn concurrent_compare_and_swap_never_loses_an_increment() {
        let store = Arc::new(EmbeddedStore::open(&temp("cas")).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        loop {
                            let cur = store.read("n").unwrap();
                            let n = cur
                                .as_ref()
                                .map_or(0, |b| u64::from_le_bytes(b[..8].try_into().unwrap()));
                            let txn = Transaction {
                                checks: vec![("n".into(), cur)],
                                writes: vec![("n".into(), Some((n + 1).to_le_bytes().to_vec()))],
                                durable: true,
                            };
                            if store.transact(txn).is_ok() {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = store.read("n").unwrap().unwrap();
        assert_eq!(u64::from_le_bytes(n[..8].try_into().unwrap()), 100);
    }
}
