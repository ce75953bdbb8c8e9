//! The PostgreSQL store backend on a real server: the store contract every backend keeps,
//! compare-and-swap between two stores on one database (two nodes), and the schema migrations.

use ferrobeam::store::{PgStore, Store, StoreError, Transaction};
use ferrobeam_device_api::Message;
use ferrobeam_tests::pg::PgServer;
use std::sync::Arc;

#[path = "../../host/src/store/contract.rs"]
mod contract;

#[test]
fn the_postgres_store_keeps_the_store_contract() {
    let Some(pg) = PgServer::start("the_postgres_store_keeps_the_store_contract") else {
        return;
    };
    let store = PgStore::open(&pg.url()).unwrap();
    contract::store_contract(&store);
    // A second node opening the same database (through the Unix socket this time) finds the
    // schema in place.
    let again = PgStore::open(&pg.socket_url()).unwrap();
    assert_eq!(again.read("c").unwrap(), Some(b"3".to_vec()));
    // Keys PostgreSQL cannot hold are refused as bad input, not as a failure.
    assert!(matches!(
        store.write("bad\0key", b"x"),
        Err(StoreError::BadKey(_))
    ));
}

#[test]
fn two_stores_on_one_database_never_lose_an_increment() {
    let Some(pg) = PgServer::start("two_stores_on_one_database_never_lose_an_increment") else {
        return;
    };
    let stores: Vec<Arc<PgStore>> = (0..2)
        .map(|_| Arc::new(PgStore::open(&pg.url()).unwrap()))
        .collect();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                for _ in 0..40 {
                    loop {
                        let cur = store.read("n").unwrap();
                        let n = cur
                            .as_ref()
                            .map_or(0, |b| u64::from_be_bytes(b[..8].try_into().unwrap()));
                        let txn = Transaction {
                            checks: vec![("n".into(), cur)],
                            writes: vec![
                                ("n".into(), Some((n + 1).to_be_bytes().to_vec())),
                                (format!("taken/{n:08}"), Some(vec![t as u8])),
                            ],
                            durable: true,
                        };
                        match store.transact(txn) {
                            Ok(()) => break,
                            Err(StoreError::Conflict { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = stores[0].read("n").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(n[..8].try_into().unwrap()), 240);
    // Each value of the counter was taken by exactly one transaction.
    assert_eq!(stores[1].list("taken/", None, 1000).unwrap().len(), 240);
}

#[test]
fn the_schema_is_versioned_and_a_newer_one_is_refused() {
    let Some(pg) = PgServer::start("the_schema_is_versioned_and_a_newer_one_is_refused") else {
        return;
    };
    let store = PgStore::open(&pg.url()).unwrap();
    store
        .write_message("m", &Message::new().with("k", "v"))
        .unwrap();
    // A later ferrobeam recorded a schema version this one does not know.
    let newer = ferrobeam::store::postgres::schema_version() + 1;
    pg.psql(&format!(
        "INSERT INTO ferrobeam_schema (version) VALUES ({newer})"
    ));
    assert_eq!(
        pg.psql("SELECT count(*) FROM ferrobeam_entries").trim(),
        "1"
    );
    let e = PgStore::open(&pg.url()).unwrap_err();
    assert!(e.to_string().contains("newer than this node's"), "{e}");
}
