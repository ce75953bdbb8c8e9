//! What every backend must do; run against each backend in its tests.
#![allow(clippy::unwrap_used)]
use super::{Message, Store, StoreError, Transaction};

pub fn store_contract(store: &dyn Store) {
    assert_eq!(store.read("a").unwrap(), None);
    store.write("a", b"1").unwrap();
    assert_eq!(store.read("a").unwrap(), Some(b"1".to_vec()));
    // A failed check writes nothing.
    let txn = Transaction {
        checks: vec![("a".into(), Some(b"2".to_vec()))],
        writes: vec![("b".into(), Some(b"x".to_vec()))],
        durable: true,
    };
    assert_eq!(
        store.transact(txn),
        Err(StoreError::Conflict { key: "a".into() })
    );
    assert_eq!(store.read("b").unwrap(), None);
    // A passing check writes everything, deletes included.
    let txn = Transaction {
        checks: vec![("a".into(), Some(b"1".to_vec())), ("c".into(), None)],
        writes: vec![("a".into(), None), ("c".into(), Some(b"3".to_vec()))],
        durable: true,
    };
    store.transact(txn).unwrap();
    assert_eq!(store.read("a").unwrap(), None);
    assert_eq!(store.read("c").unwrap(), Some(b"3".to_vec()));
    // Listing by prefix, in order, with paging.
    for k in ["p/1", "p/2", "p/3", "q/1"] {
        store.write(k, k.as_bytes()).unwrap();
    }
    let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list("p/", None, 10).unwrap()),
        ["p/1", "p/2", "p/3"]
    );
    assert_eq!(keys(store.list("p/", Some("p/1"), 1).unwrap()), ["p/2"]);
    // Keys sort bytewise, whatever the backend's locale.
    for k in ["o/a", "o/_", "o/B"] {
        store.write(k, b"").unwrap();
    }
    assert_eq!(
        keys(store.list("o/", None, 10).unwrap()),
        ["o/B", "o/_", "o/a"]
    );
    // Within one transaction the last write of a key wins; deleting an absent key is fine.
    let txn = Transaction {
        checks: Vec::new(),
        writes: vec![
            ("w".into(), Some(b"1".to_vec())),
            ("w".into(), Some(b"2".to_vec())),
            ("gone".into(), None),
        ],
        durable: false,
    };
    store.transact(txn).unwrap();
    assert_eq!(store.read("w").unwrap(), Some(b"2".to_vec()));
    // Messages round-trip.
    let m = Message::new().with("k", "v");
    store.write_message("ID", &m).unwrap();
    assert_eq!(store.read_message("ID").unwrap(), Some(m));
}
