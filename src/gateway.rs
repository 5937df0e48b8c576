//! The gateway inside `kactor server`: its mesh endpoint, its keys for secrets at rest,
//! and who its mesh peers are.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use kactor_actors::gateway::secrets::{Encryption, EncryptionKey};
use kactor_actors::gateway::{GatewayConfig, User};
use kactor_actors::kernel::NodeId;
use kactor_transport::gateway_host::{self, Identify};
use kactor_transport::mesh::{Mesh, MeshConfig};
use kactor_transport::pki::NodeIdentity;
use rand::Rng;

/// Binds the gateway's endpoint and starts it; returns its identity and address.
pub async fn start(
    identity: NodeIdentity,
    listen: SocketAddr,
    store: BTreeMap<NodeId, SocketAddr>,
    encryption: Encryption,
) -> anyhow::Result<(NodeId, SocketAddr)> {
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
    gateway_host::launch(config, store, mesh, inbound, component_identity());
    tracing::info!(id, %addr, "gateway up");
    Ok((id, addr))
}

/// Mesh peers hold certificates the cluster CA issued: members, their gateways and the
/// operator's tools. They act as cluster administrators. (Kubelets, when they join, get
/// node identities of their own, `system:node:<name>` in `system:nodes`, which the
/// gateway's NodeRestriction already confines.)
fn component_identity() -> Identify {
    Arc::new(|peer: NodeId| User {
        name: format!("system:kactor:{peer:x}"),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
    })
}

/// Bytes in an AES-256 key.
const KEY_BYTES: usize = 32;

/// The secrets-at-rest keys: one `name=hex` line per key, the first encrypts. Created
/// with one fresh key (readable by the owner only) on first start; to rotate, put a new
/// line first and restart: every write re-encrypts with it.
pub fn load_or_create_keys(path: &Path) -> anyhow::Result<Encryption> {
    if !path.exists() {
        let key: [u8; KEY_BYTES] = rand::thread_rng().gen();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let mut file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode_owner_only()
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        writeln!(file, "key1={hex}")?;
        file.sync_all()?;
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

trait OwnerOnly {
    fn mode_owner_only(&mut self) -> &mut Self;
}

impl OwnerOnly for std::fs::OpenOptions {
    fn mode_owner_only(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}
