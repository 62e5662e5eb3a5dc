//! The store test suite against the in-memory store.

use alert_router::store::{MemoryStore, testsuite};

#[tokio::test]
async fn memory_store_passes_the_store_testsuite() {
    testsuite::run(&MemoryStore::new()).await;
}

#[tokio::test]
async fn unavailable_memory_store_fails_every_call_and_writes_nothing() {
    use alert_router::store::{Change, Store, StoreError};
    let store = MemoryStore::new();
    store.set_unavailable(true);
    let err = store
        .apply(&[Change::DeleteGroup("g".into())])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "memory",
                ..
            }
        ),
        "{err}"
    );
    assert!(store.load().await.is_err());
    store.set_unavailable(false);
    assert!(store.load().await.unwrap().groups.is_empty());
}
