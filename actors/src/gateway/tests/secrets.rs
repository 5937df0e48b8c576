//! Secrets: sealed in the store, plain to those who read them.

use super::*;
// The gateway's module, which this file's name would shadow.
use crate::gateway::secrets;

#[test]
fn secrets_are_sealed_in_the_store() {
    let key = secrets::EncryptionKey {
        name: "k1".into(),
        secret: [7; 32],
    };
    let mut h = Harness::new(|c| c.encryption = secrets::Encryption { keys: vec![key] });
    h.call(create("namespaces", None, namespace("default")))
        .unwrap();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="}});
    h.call(create("secrets", Some("default"), secret)).unwrap();
    let (_, got) = h.call(get("secrets", Some("default"), "s")).unwrap();
    assert_eq!(got["data"]["password"], "aHVudGVyMg==");
    let raw = h
        .store
        .raft
        .machine
        .get(b"/registry/core/secrets/default/s")
        .expect("stored");
    assert!(raw.value.starts_with(b"k8s:enc:aesgcm:v1:k1:"));
    assert!(!raw.value.windows(8).any(|w| w == b"aHVudGVy"));
}
