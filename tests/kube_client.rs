//! End-to-end: kube-rs, a second real Kubernetes client, against `kactor server`'s HTTPS
//! API with the admin kubeconfig: list, watch (its watcher: list then watch), create, and
//! the merge, strategic-merge and apply patches.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kactor_kube::k8s_openapi;
use kactor_verify::cluster::LocalCluster;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the server may take to come up and bootstrap the default namespace.
const SETTLE_MAX: Duration = Duration::from_secs(30);

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

#[test]
fn kube_rs_lists_watches_creates_and_patches() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubeconfig = root.path().join("n1").join("admin.kubeconfig");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let deadline = Instant::now() + SETTLE_MAX;
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "{}", cluster.log_tails());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let kubeconfig = Kubeconfig::read_from(&kubeconfig).unwrap();
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client, "default");

        // Create, once the default namespace is bootstrapped.
        let created = loop {
            match api
                .create(
                    &PostParams::default(),
                    &config_map("settings", &[("mode", "fast")]),
                )
                .await
            {
                Ok(created) => break created,
                Err(e) => {
                    assert!(Instant::now() < deadline, "{e}\n{}", cluster.log_tails());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());

        // The watcher lists, then watches; it must see the patches below.
        let mut events = watcher(api.clone(), watcher::Config::default()).boxed();

        let listed = api.list(&ListParams::default()).await.unwrap();
        assert!(listed
            .items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("settings")));
        assert!(listed.metadata.resource_version.is_some());

        let merge = serde_json::json!({"data": {"mode": "slow"}});
        api.patch("settings", &PatchParams::default(), &Patch::Merge(&merge))
            .await
            .unwrap();
        let strategic = serde_json::json!({"metadata": {"labels": {"tier": "web"}}});
        api.patch(
            "settings",
            &PatchParams::default(),
            &Patch::Strategic(&strategic),
        )
        .await
        .unwrap();
        let applied = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings"}, "data": {"extra": "1"}});
        api.patch(
            "settings",
            &PatchParams::apply("kube-rs-test"),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap();
        let read = api.get("settings").await.unwrap();
        let data = read.data.clone().unwrap_or_default();
        assert_eq!(data.get("mode").map(String::as_str), Some("slow"));
        assert_eq!(data.get("extra").map(String::as_str), Some("1"));
        let labels: BTreeMap<String, String> = read.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get("tier").map(String::as_str), Some("web"));

        // The watcher's stream reaches the object as last patched.
        let seen = tokio::time::timeout(SETTLE_MAX, async {
            while let Some(event) = events.next().await {
                let objects = match event.unwrap() {
                    watcher::Event::Apply(cm) | watcher::Event::InitApply(cm) => vec![cm],
                    _ => Vec::new(),
                };
                if objects.iter().any(|cm| {
                    cm.data
                        .as_ref()
                        .and_then(|d| d.get("extra"))
                        .map(String::as_str)
                        == Some("1")
                }) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(seen, Ok(true), "{}", cluster.log_tails());

        api.delete("settings", &Default::default()).await.unwrap();
        let gone = api.get_opt("settings").await.unwrap();
        assert!(gone.is_none());
    });
}
