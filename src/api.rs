//! The Kubernetes API inside `kactor server`: its serving certificate, the admin
//! kubeconfig, the static token file, and the HTTPS listener in front of the gateway.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use kactor_actors::gateway::authn::StaticTokens;
use kactor_actors::gateway::tokens;
use kactor_apiserver::credentials::{self, CredentialReader};
use kactor_apiserver::{self as https, ApiServerConfig};
use kactor_transport::gateway_client::GatewayClient;
use kactor_transport::gateway_host::LocalLink;
use kactor_transport::pki::{self, node_id_from_name, ClusterCa, KubeUser, NodeIdentity};
use rand::Rng;

/// The user `admin.kubeconfig` authenticates as (kubeadm's name for it).
pub const KUBECONFIG_ADMIN_USER: &str = "kubernetes-admin";
/// Random bytes in a generated bearer token.
const TOKEN_BYTES: usize = 24;

/// The names clients inside a cluster use for the API, as kube-apiserver's certificate
/// carries them.
const SERVICE_NAMES: &[&str] = &[
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

pub struct ApiOptions<'a> {
    pub data_dir: &'a Path,
    pub ca_dir: &'a Path,
    pub name: &'a str,
    pub listen: SocketAddr,
}

pub fn kubeconfig_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.kubeconfig")
}

pub fn token_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join("tokens.csv")
}

/// Serves the API and writes `admin.kubeconfig` for the address it bound.
pub async fn start(options: ApiOptions<'_>, gateway: LocalLink) -> anyhow::Result<SocketAddr> {
    let ca = ClusterCa::load(options.ca_dir).context("loading the cluster CA for the API")?;
    let identity = load_or_issue_serving(&ca, &options)?;
    let config = ApiServerConfig {
        listen: options.listen,
        identity,
        credentials: CredentialReader::new(Some(service_account_public_key(&ca)?)),
    };
    let addr = https::serve(config, GatewayClient::local(gateway)).await?;
    write_admin_kubeconfig(&ca, options.data_dir, addr)?;
    Ok(addr)
}

/// The key that verifies service account tokens: the public half of the one the gateways
/// sign with, derived from the cluster CA.
fn service_account_public_key(ca: &ClusterCa) -> anyhow::Result<Vec<u8>> {
    tokens::public_key(&ca.service_account_key()).map_err(anyhow::Error::msg)
}

/// The serving certificate: DNS and IP SANs for every name a client may dial.
fn load_or_issue_serving(ca: &ClusterCa, options: &ApiOptions) -> anyhow::Result<NodeIdentity> {
    let dir = options.data_dir.join("pki").join("apiserver");
    if dir.join("node.crt").exists() {
        return NodeIdentity::load(&dir);
    }
    let mut sans: Vec<String> = SERVICE_NAMES.iter().map(|s| s.to_string()).collect();
    let ip = options.listen.ip();
    if !ip.is_unspecified() {
        sans.push(ip.to_string());
    }
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if pki::is_dns_name(host) {
            sans.push(host.to_string());
        }
    }
    let name = format!("apiserver@{}", options.name);
    let identity = ca.issue(&name, node_id_from_name(&name), &sans)?;
    identity.save(&dir)?;
    Ok(identity)
}

/// kube-apiserver's static token file (`DATA_DIR/tokens.csv`, created on first start), as
/// the gateway keeps it.
pub fn static_tokens(data_dir: &Path) -> anyhow::Result<StaticTokens> {
    let tokens = credentials::load_token_file(&ensure_token_file(data_dir)?)?;
    Ok(credentials::static_tokens(tokens))
}

/// Creates the static token file on first start, with one administrator token.
fn ensure_token_file(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = token_file_path(data_dir);
    if !path.exists() {
        let token: [u8; TOKEN_BYTES] = rand::thread_rng().gen();
        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let line = format!("{token},kactor-admin-token,kactor-admin-token,\"system:masters\"\n");
        pki::write_secret_file(&path, line.as_bytes())?;
    }
    Ok(path)
}

/// `admin.kubeconfig`: the CA, the API's address and a client certificate in
/// `system:masters`. Rewritten on every start (the address may change).
fn write_admin_kubeconfig(ca: &ClusterCa, data_dir: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let client = ca.issue_client(&KubeUser::new(KUBECONFIG_ADMIN_USER, &["system:masters"]))?;
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kactor", "cluster": {
            "server": format!("https://{host}:{}", addr.port()),
            "certificate-authority-data": b64(&ca.cert_pem),
        }}],
        "users": [{"name": KUBECONFIG_ADMIN_USER, "user": {
            "client-certificate-data": b64(&client.cert_pem),
            "client-key-data": b64(&client.key_pem),
        }}],
        "contexts": [{"name": "kactor", "context": {"cluster": "kactor", "user": KUBECONFIG_ADMIN_USER}}],
        "current-context": "kactor",
    });
    // JSON is YAML: kubectl reads it as is.
    let text = serde_json::to_vec_pretty(&kubeconfig)?;
    pki::write_secret_file(&kubeconfig_path(data_dir), &text)
}
