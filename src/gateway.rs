//! The gateway inside `kactor server`: its mesh endpoint, its keys for secrets at rest,
//! and who its mesh peers are.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use kactor_actors::gateway::allocation::ServiceRanges;
use kactor_actors::gateway::authn::StaticTokens;
use kactor_actors::gateway::secrets::{Encryption, EncryptionKey};
use kactor_actors::gateway::{GatewayConfig, User};
use kactor_actors::kernel::NodeId;
use kactor_transport::gateway_host::{self, Identify, LocalLink};
use kactor_transport::mesh::{Mesh, MeshConfig};
use kactor_transport::pki::{self, NodeIdentity, Subject};
use rand::Rng;

/// A running gateway: its mesh identity and address, and the link for in-process callers.
pub struct StartedGateway {
    pub id: NodeId,
    pub addr: SocketAddr,
    pub local: LocalLink,
    pub mesh: Mesh,
}

/// Who the gateway lets in over HTTPS, besides client certificates.
pub struct Authentication {
    /// kube-apiserver's static token file, as digests.
    pub static_tokens: StaticTokens,
    /// `--anonymous-auth`.
    pub anonymous: bool,
    /// The Ed25519 seed that signs service account tokens.
    pub service_account_key: Vec<u8>,
}

/// Binds the gateway's endpoint and starts it.
pub async fn start(
    identity: NodeIdentity,
    listen: SocketAddr,
    store: BTreeMap<NodeId, SocketAddr>,
    encryption: Encryption,
    service_ranges: ServiceRanges,
    authentication: Authentication,
) -> anyhow::Result<StartedGateway> {
    let id = identity
        .node_id()
        .context("the gateway's certificate has no node id")?;
    let (mesh, inbound) = Mesh::bind(MeshConfig {
        node_id: id,
        listen,
        identity,
    })
    .await?;
    let addr = mesh.local_addr();
    let mut config = GatewayConfig::new(id, store.keys().copied().collect());
    config.encryption = encryption;
    config.service_ranges = service_ranges;
    config.service_account_key = authentication.service_account_key;
    config.static_tokens = authentication.static_tokens;
    config.anonymous_auth = authentication.anonymous;
    let local = gateway_host::launch(config, store, mesh.clone(), inbound, component_identity());
    tracing::info!(id, %addr, "gateway up");
    Ok(StartedGateway {
        id,
        addr,
        local,
        mesh,
    })
}

/// Mesh peers hold certificates the cluster CA issued. A certificate that names a
/// Kubernetes user (see `pki::Subject::kube_user`) acts as that user: the operator's tools
/// as `kactor-admin` in `system:masters`, a kubelet as `system:node:<name>` in
/// `system:nodes` (confined by NodeRestriction). Any other peer (a store member, say) is
/// authenticated but has no rights beyond discovery.
fn component_identity() -> Identify {
    Arc::new(|peer: NodeId, subject: &Subject| {
        let (name, mut groups) = match subject.kube_user() {
            Some(user) => (user.name, user.groups),
            None => (format!("system:kactor:node-{peer}"), Vec::new()),
        };
        groups.push("system:authenticated".into());
        User { name, groups }
    })
}

/// Bytes in an AES-256 key.
const KEY_BYTES: usize = 32;

/// The secrets-at-rest keys: one `name=hex` line per key, the first encrypts. Created
/// with one fresh key (readable by the owner only) on first start; members that start
/// together on one file all keep the one that was created first. To rotate, put a new line
/// first and restart every member: every write re-encrypts with it.
pub fn load_or_create_keys(path: &Path) -> anyhow::Result<Encryption> {
    if !path.exists() {
        let key: [u8; KEY_BYTES] = rand::thread_rng().gen();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        pki::create_secret_file_once(path, format!("key1={hex}\n").as_bytes())?;
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut keys = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let Some((name, hex)) = line.trim().split_once('=') else {
            bail!("{}:{}: not NAME=HEX", path.display(), line_no + 1);
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<_>>()
            .filter(|b: &Vec<u8>| b.len() == KEY_BYTES)
            .with_context(|| {
                format!(
                    "{}:{}: a key is {KEY_BYTES} bytes of hex",
                    path.display(),
                    line_no + 1
                )
            })?;
        let mut secret = [0u8; KEY_BYTES];
        secret.copy_from_slice(&bytes);
        keys.push(EncryptionKey {
            name: name.to_string(),
            secret,
        });
    }
    if keys.is_empty() {
        bail!("{} holds no key", path.display());
    }
    Ok(Encryption { keys })
}
