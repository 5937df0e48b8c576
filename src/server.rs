//! `kactor server`: one member of the cluster, with its store replica embedded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use kactor_actors::gateway::allocation::{self, Ipv4Range, ServiceRanges};
use kactor_actors::kernel::NodeId;
use kactor_actors::raft::{Membership, RaftConfig};
use kactor_actors::store::{Store, StoreConfig};
use kactor_transport::host::{recover, Host};
use kactor_transport::mesh::{Mesh, MeshConfig};
use kactor_transport::metrics::metrics;
use kactor_transport::pki::{node_id_from_name, ClusterCa, KubeUser, NodeIdentity};
use kactor_transport::wal::Wal;
use serde::{Deserialize, Serialize};

use crate::{api, gateway};

/// The secrets-at-rest keys file's name (see `gateway::load_or_create_keys`).
const ENCRYPTION_KEYS_FILE: &str = "encryption.keys";

#[derive(clap::Args)]
pub struct ServerArgs {
    /// Where the WAL, certificates and kubeconfig live.
    #[arg(long)]
    data_dir: PathBuf,
    /// This member's name, unique in the cluster.
    #[arg(long, default_value = "n1")]
    name: String,
    /// The QUIC mesh address (UDP).
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    /// The Kubernetes API address (HTTPS, for kubectl). Port 0 picks a free one; the
    /// address is in DATA_DIR/admin.kubeconfig and DATA_DIR/server.json.
    #[arg(long, default_value = "127.0.0.1:6443")]
    api_listen: SocketAddr,
    /// Serve API requests that carry no credentials, as `system:anonymous` (RBAC still
    /// decides what it may do; by default only /version and health).
    #[arg(long)]
    anonymous_auth: bool,
    /// Where services' ClusterIPs come from (an IPv4 /12 to /28), as kube-apiserver's flag.
    #[arg(long, default_value = allocation::DEFAULT_CLUSTER_IP_RANGE)]
    service_cluster_ip_range: Ipv4Range,
    /// Where NodePort and LoadBalancer services' node ports come from, as kube-apiserver's
    /// flag.
    #[arg(long, default_value = "30000-32767", value_parser = allocation::parse_port_range)]
    service_node_port_range: RangeInclusive<u16>,
    /// The gateway's own mesh endpoint (UDP); port 0 picks a free one, written to
    /// DATA_DIR/server.json.
    #[arg(long, default_value = "127.0.0.1:0")]
    gateway_listen: SocketAddr,
    /// All founding members: `n1=HOST:PORT,n2=HOST:PORT,...`. Empty: a one-member cluster.
    #[arg(long, default_value = "")]
    initial_cluster: String,
    /// A directory holding (or to hold) the cluster CA, shared by founding members that
    /// start on one machine. Default: a new CA in the data dir.
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// Join a running cluster through this member (not yet supported).
    #[arg(long)]
    join: Option<String>,
    #[arg(long)]
    token: Option<String>,
    /// Snapshot after this many applied entries.
    #[arg(long, default_value_t = 10_000)]
    snapshot_entries: u64,
    /// Also serve the process's Prometheus metrics at http://ADDR/metrics, without TLS or
    /// authentication, as etcd's `--listen-metrics-urls` does (the API serves them at
    /// /metrics behind RBAC either way).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Testing only: cut the mesh links to the members named in DATA_DIR/partition
    /// (comma- or line-separated names), re-read every 100 ms. `kactor verify` uses it.
    #[arg(long)]
    fault_injection: bool,
}

/// How often `--fault-injection` re-reads DATA_DIR/partition.
const PARTITION_POLL_MS: u64 = 100;

/// Cuts the links to the members named in `file`, following its changes.
async fn follow_partition_file(mesh: Mesh, file: PathBuf) {
    // Runs until the process ends; one small read per poll.
    loop {
        let names = std::fs::read_to_string(&file).unwrap_or_default();
        let blocked = names
            .split([',', '\n'])
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(node_id_from_name)
            .collect();
        mesh.set_blocked(blocked);
        tokio::time::sleep(std::time::Duration::from_millis(PARTITION_POLL_MS)).await;
    }
}

/// What `kactor store` reads to find the local server.
#[derive(Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub id: NodeId,
    pub listen: SocketAddr,
    /// Where the cluster CA lives, so local tools can issue themselves client certificates.
    #[serde(default)]
    pub ca_dir: Option<PathBuf>,
    /// The gateway's mesh identity and address.
    #[serde(default)]
    pub gateway_id: NodeId,
    #[serde(default)]
    pub gateway_listen: Option<SocketAddr>,
    /// The Kubernetes API (HTTPS).
    #[serde(default)]
    pub api_listen: Option<SocketAddr>,
}

/// The cluster CA's directory for a server started with `ca_dir` (or none).
/// Where the secrets-at-rest keys live: beside the cluster CA, which every member holds,
/// so that every member's gateway opens what another's sealed. A data dir from before
/// keeps its own file.
fn encryption_keys_path(args: &ServerArgs) -> PathBuf {
    let legacy = args.data_dir.join(ENCRYPTION_KEYS_FILE);
    match legacy.exists() {
        true => legacy,
        false => ca_dir_of(&args.data_dir, args.ca_dir.as_ref()).join(ENCRYPTION_KEYS_FILE),
    }
}

fn ca_dir_of(data_dir: &Path, ca_dir: Option<&PathBuf>) -> PathBuf {
    ca_dir.cloned().unwrap_or_else(|| data_dir.join("ca"))
}

pub fn admin_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("pki").join("admin")
}

pub fn info_path(data_dir: &Path) -> PathBuf {
    data_dir.join("server.json")
}

pub fn run(args: ServerArgs) -> anyhow::Result<ExitCode> {
    if args.join.is_some() || args.token.is_some() {
        bail!("--join is not supported yet: start founding members with --initial-cluster");
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let id = node_id_from_name(&args.name);
    let identity = load_or_issue_identity(&args, id)?;
    let membership = initial_membership(&args)?;
    if !membership.contains(id) {
        bail!(
            "--initial-cluster does not name this member ({})",
            args.name
        );
    }
    let (wal, recovered) = Wal::open(&args.data_dir.join("wal")).context("opening the WAL")?;
    if recovered.truncated_tail_bytes > 0 {
        tracing::warn!(
            bytes = recovered.truncated_tail_bytes,
            "WAL had a torn tail; truncated"
        );
    }
    let durable = recover::<Store>(&recovered.records).context("replaying the WAL")?;
    let store_members = membership_addresses(&membership)?;
    let mut raft = RaftConfig::new(id, membership);
    raft.snapshot_entries_threshold = args.snapshot_entries;
    let config = StoreConfig::new(raft);
    let mut info = ServerInfo {
        name: args.name.clone(),
        id,
        listen: args.listen,
        ca_dir: Some(ca_dir_of(&args.data_dir, args.ca_dir.as_ref())),
        gateway_id: 0,
        gateway_listen: None,
        api_listen: None,
    };
    let gateway_identity = load_or_issue_gateway_identity(&args)?;
    let encryption = gateway::load_or_create_keys(&encryption_keys_path(&args))?;
    let system = actix::System::new();
    system.block_on(async move {
        let mesh_config = MeshConfig {
            node_id: id,
            listen: args.listen,
            identity,
        };
        let (mesh, inbound) = Mesh::bind(mesh_config).await?;
        let _host = Host::<Store>::launch(
            "store",
            config,
            durable,
            mesh.clone(),
            Arc::new(wal),
            inbound,
        );
        if args.fault_injection {
            let file = args.data_dir.join("partition");
            tokio::spawn(follow_partition_file(mesh.clone(), file));
        }
        let service_ranges = ServiceRanges {
            cluster_ips: args.service_cluster_ip_range,
            node_ports: args.service_node_port_range.clone(),
        };
        let ca_dir = ca_dir_of(&args.data_dir, args.ca_dir.as_ref());
        let service_account_key = ClusterCa::load(&ca_dir)
            .context("loading the cluster CA for service account tokens")?
            .service_account_key();
        let authentication = gateway::Authentication {
            static_tokens: api::static_tokens(&args.data_dir)?,
            anonymous: args.anonymous_auth,
            service_account_key,
        };
        let gateway = gateway::start(
            gateway_identity,
            args.gateway_listen,
            store_members,
            encryption,
            service_ranges,
            authentication,
        )
        .await?;
        info.gateway_id = gateway.id;
        info.gateway_listen = Some(gateway.addr);
        let meshes = [mesh.clone(), gateway.mesh.clone()];
        metrics().add_sampler(move |m| {
            let queued: usize = meshes.iter().map(Mesh::queued_frames).sum();
            m.kactor_mesh_queued_frames
                .set(i64::try_from(queued).unwrap_or(i64::MAX));
            true
        });
        if let Some(listen) = args.metrics_listen {
            let addr = kactor_apiserver::metrics_listener::serve_plain(listen).await?;
            tracing::info!(%addr, "metrics serving (plain HTTP)");
        }
        let api = api::ApiOptions {
            data_dir: &args.data_dir,
            ca_dir: &ca_dir,
            name: &args.name,
            listen: args.api_listen,
        };
        info.api_listen = Some(api::start(api, gateway.local).await?);
        std::fs::write(info_path(&args.data_dir), serde_json::to_vec_pretty(&info)?)?;
        tracing::info!(name = %args.name, id, listen = %args.listen, "server up");
        wait_for_shutdown().await;
        tracing::info!("shutting down");
        mesh.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_shutdown() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// Loads this member's certificate, or issues it (and an admin client certificate for
/// `kactor store`) from the cluster CA on first start.
fn load_or_issue_identity(args: &ServerArgs, id: NodeId) -> anyhow::Result<NodeIdentity> {
    let pki = args.data_dir.join("pki");
    if pki.join("node.crt").exists() {
        return NodeIdentity::load(&pki);
    }
    let ca_dir = ca_dir_of(&args.data_dir, args.ca_dir.as_ref());
    let ca = ClusterCa::load_or_create(&ca_dir).context("loading the cluster CA")?;
    let sans = vec![args.listen.ip().to_string()];
    let identity = ca.issue(&args.name, id, &sans)?;
    std::fs::create_dir_all(&pki)?;
    identity.save(&pki)?;
    let admin_name = format!("admin@{}", args.name);
    let admin = issue_admin(&ca, &admin_name)?;
    std::fs::create_dir_all(admin_dir(&args.data_dir))?;
    admin.save(&admin_dir(&args.data_dir))?;
    Ok(identity)
}

/// The Kubernetes user the operator's mesh tools act as: a cluster administrator.
pub const ADMIN_USER: &str = "kactor-admin";

/// A mesh certificate for the operator's tools, acting as `ADMIN_USER` in `system:masters`.
pub fn issue_admin(ca: &ClusterCa, name: &str) -> anyhow::Result<NodeIdentity> {
    let user = KubeUser::new(ADMIN_USER, &["system:masters"]);
    ca.issue_for(name, node_id_from_name(name), &[], Some(&user))
}

/// The gateway's certificate: its own mesh identity, `gateway@<name>`.
fn load_or_issue_gateway_identity(args: &ServerArgs) -> anyhow::Result<NodeIdentity> {
    let dir = args.data_dir.join("pki").join("gateway");
    if dir.join("node.crt").exists() {
        return NodeIdentity::load(&dir);
    }
    let ca = ClusterCa::load(&ca_dir_of(&args.data_dir, args.ca_dir.as_ref()))
        .context("loading the cluster CA for the gateway's certificate")?;
    let name = format!("gateway@{}", args.name);
    let identity = ca.issue(
        &name,
        node_id_from_name(&name),
        &[args.listen.ip().to_string()],
    )?;
    std::fs::create_dir_all(&dir)?;
    identity.save(&dir)?;
    Ok(identity)
}

fn membership_addresses(membership: &Membership) -> anyhow::Result<BTreeMap<NodeId, SocketAddr>> {
    membership
        .voters
        .iter()
        .map(|(id, address)| {
            Ok((
                *id,
                address
                    .parse()
                    .with_context(|| format!("member address {address:?}"))?,
            ))
        })
        .collect()
}

fn initial_membership(args: &ServerArgs) -> anyhow::Result<Membership> {
    let mut membership = Membership::default();
    if args.initial_cluster.trim().is_empty() {
        membership
            .voters
            .insert(node_id_from_name(&args.name), args.listen.to_string());
        return Ok(membership);
    }
    for member in args.initial_cluster.split(',') {
        let Some((name, address)) = member.split_once('=') else {
            bail!("--initial-cluster member {member:?} is not NAME=HOST:PORT");
        };
        address
            .parse::<SocketAddr>()
            .with_context(|| format!("member {name} has a bad address {address:?}"))?;
        membership
            .voters
            .insert(node_id_from_name(name), address.to_string());
    }
    Ok(membership)
}
