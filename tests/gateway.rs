//! End-to-end: the gateway inside real `kactor server` processes, driven by the typed
//! client and an informer over the mesh.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kactor_actors::gateway::{DeleteOptions, ListOptions};
use kactor_actors::store::{KeySpan, RangeRequest, StoreOutput, StoreQuery};
use kactor_kube::k8s_openapi::api::core::v1::{Container, Namespace, Node, Pod, PodSpec, Secret};
use kactor_kube::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kactor_kube::k8s_openapi::ByteString;
use kactor_transport::gateway_client::{GatewayClient, Informer, InformerEvent};
use kactor_transport::pki::{node_id_from_name, ClusterCa, KubeUser};
use kactor_verify::cluster::{self, LocalCluster};

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the cluster may take to settle before a test fails.
const SETTLE_MAX: Duration = Duration::from_secs(30);

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

fn pod(name: &str) -> Pod {
    Pod {
        metadata: meta(name),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox:1.36".into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// Retries `create` until the gateway (and its store) answer: the cluster may still be
/// electing.
async fn create_namespace(client: &GatewayClient, name: &str) {
    let deadline = Instant::now() + SETTLE_MAX;
    let namespace = Namespace {
        metadata: meta(name),
        ..Namespace::default()
    };
    loop {
        match client.create(None, &namespace).await {
            Ok(_) => return,
            Err(error) if error.code == 409 => return,
            Err(error) if Instant::now() > deadline => panic!("no namespace: {error:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn typed_client_and_informer_against_a_real_server() {
    let root = tempfile::tempdir().unwrap();
    let _cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    runtime().block_on(async {
        let client = cluster::gateway_client(root.path(), 1).await.unwrap();
        create_namespace(&client, "default").await;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = seen.clone();
        let informer = Informer::<Pod>::start(
            client.clone(),
            Some("default".into()),
            Arc::new(move |event| {
                let line = match event {
                    InformerEvent::Added(p) => {
                        format!("added {}", p.metadata.name.clone().unwrap_or_default())
                    }
                    InformerEvent::Updated { new, .. } => {
                        format!("updated {}", new.metadata.name.clone().unwrap_or_default())
                    }
                    InformerEvent::Deleted(p) => {
                        format!("deleted {}", p.metadata.name.clone().unwrap_or_default())
                    }
                    InformerEvent::Resync(_) => return,
                };
                recorded.lock().unwrap().push(line);
            }),
            None,
        );
        informer.wait_synced(SETTLE_MAX).await.unwrap();
        let created = client.create(Some("default"), &pod("web")).await.unwrap();
        assert!(created.metadata.uid.is_some());
        assert_eq!(
            created.spec.as_ref().unwrap().restart_policy.as_deref(),
            Some("Always")
        );
        let fetched: Pod = client.get(Some("default"), "web").await.unwrap();
        assert_eq!(
            fetched.metadata.resource_version,
            created.metadata.resource_version
        );

        // A write with the resourceVersion read is accepted once; the stale one is 409.
        let mut first = fetched.clone();
        first.metadata.labels = Some([("tier".to_string(), "front".to_string())].into());
        client.update(&first).await.unwrap();
        let stale = client.update(&fetched).await.unwrap_err();
        assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));

        client
            .delete::<Pod>(Some("default"), "web", DeleteOptions::default())
            .await
            .unwrap();
        let (left, _) = client
            .list::<Pod>(Some("default"), ListOptions::default())
            .await
            .unwrap();
        assert!(left.is_empty(), "a consistent list after the delete");
        let deadline = Instant::now() + SETTLE_MAX;
        while !seen.lock().unwrap().iter().any(|l| l == "deleted web") {
            assert!(
                Instant::now() < deadline,
                "informer saw {:?}",
                seen.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen.lock().unwrap()[0], "added web");
        assert!(informer.store.list().unwrap().is_empty());
    });
}

#[test]
fn secrets_are_encrypted_in_the_store_and_the_gateway_survives_a_leader_kill() {
    let root = tempfile::tempdir().unwrap();
    let mut members = LocalCluster::start(Path::new(KACTOR), 3, root.path()).unwrap();
    runtime().block_on(async {
        let store = cluster::connect(root.path(), members.addrs[0])
            .await
            .unwrap();
        let client = cluster::gateway_client(root.path(), 1).await.unwrap();
        create_namespace(&client, "default").await;
        let secret = Secret {
            metadata: meta("db"),
            data: Some([("password".to_string(), ByteString(b"hunter2".to_vec()))].into()),
            ..Secret::default()
        };
        client.create(Some("default"), &secret).await.unwrap();
        let read: Secret = client.get(Some("default"), "db").await.unwrap();
        assert_eq!(read.data.unwrap()["password"].0, b"hunter2");
        let key = b"/registry/core/secrets/default/db".to_vec();
        let raw = store
            .read(StoreQuery::Range(RangeRequest::latest(KeySpan::Key(key))))
            .await
            .unwrap();
        let StoreOutput::Range(range) = raw else {
            panic!("{raw:?}")
        };
        let value = &range.kvs[0].value;
        assert!(
            value.starts_with(b"k8s:enc:aesgcm:v1:key1:"),
            "stored in the clear"
        );
        assert!(!value.windows(7).any(|w| w == b"hunter2" || w == b"aHVudGV"));
        // Another member's gateway reads what member 1's sealed: the keys are the cluster's.
        let other = cluster::gateway_client(root.path(), 2).await.unwrap();
        let read: Secret = other.get(Some("default"), "db").await.unwrap();
        assert_eq!(read.data.unwrap()["password"].0, b"hunter2");

        // Kill whichever member leads; member 1's gateway follows the new leader.
        let status = store.raft().status(store.raft().target()).await.unwrap();
        let leader = status.leader.expect("a leader");
        let index = (1..=3)
            .find(|i| node_id_from_name(&format!("n{i}")) == leader)
            .unwrap();
        let survivor = if index == 1 { 2 } else { 1 };
        members.kill(index - 1);
        let client = cluster::gateway_client(root.path(), survivor)
            .await
            .unwrap();
        let deadline = Instant::now() + SETTLE_MAX;
        loop {
            match client.create(Some("default"), &pod("after-failover")).await {
                Ok(_) => break,
                Err(error) if Instant::now() > deadline => {
                    panic!("{error:?}\n{}", members.log_tails())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let _: Pod = client.get(Some("default"), "after-failover").await.unwrap();
    });
}

#[test]
fn mesh_certificates_decide_who_a_component_is() {
    let root = tempfile::tempdir().unwrap();
    let _cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    runtime().block_on(async {
        let admin = cluster::gateway_client(root.path(), 1).await.unwrap();
        create_namespace(&admin, "default").await;
        let ca = ClusterCa::load(&root.path().join("ca")).unwrap();
        let kubelet_user = KubeUser::new("system:node:w1", &["system:nodes"]);
        let kubelet_cert = ca
            .issue_for("w1", node_id_from_name("w1"), &[], Some(&kubelet_user))
            .unwrap();
        let kubelet = cluster::gateway_client_as(root.path(), 1, kubelet_cert)
            .await
            .unwrap();
        let node = |name: &str| Node {
            metadata: meta(name),
            ..Node::default()
        };
        kubelet.create(None, &node("w1")).await.unwrap();
        let refused = kubelet.create(None, &node("w2")).await.unwrap_err();
        assert_eq!(refused.code, 403, "{refused:?}");
        let refused = kubelet
            .list::<Secret>(Some("default"), ListOptions::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code, 403, "{refused:?}");

        // A certificate that names no user (as a store member's) has no rights.
        let plain = ca.issue("plain", node_id_from_name("plain"), &[]).unwrap();
        let plain = cluster::gateway_client_as(root.path(), 1, plain)
            .await
            .unwrap();
        // RBAC answers 503 (retry) until the gateway's role caches have loaded.
        let deadline = Instant::now() + SETTLE_MAX;
        let refused = loop {
            let refused = plain
                .list::<Namespace>(None, ListOptions::default())
                .await
                .unwrap_err();
            if refused.code != 503 || Instant::now() > deadline {
                break refused;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(refused.code, 403, "{refused:?}");
        assert!(
            refused.message.contains("system:kactor:node-"),
            "{refused:?}"
        );
        admin.get::<Node>(None, "w1").await.unwrap();
    });
}
