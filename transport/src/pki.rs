//! The cluster PKI: one self-signed cluster CA, and per-node certificates it issues.
//!
//! A node's identity is the Common Name of its certificate, `kactor-node-<node_id>`. The
//! same name is also a DNS SAN, so a client dialing node N asks TLS for server name
//! `kactor-node-N` and the handshake itself proves it reached node N.
//!
//! Who a certificate's holder is to the Kubernetes API ([`KubeUser`]) rides in the same
//! subject: Kubernetes puts the user in the CN and the groups in O; the CN is taken by the
//! node id here, so the user is the OU and the groups are the O entries. A certificate
//! without an OU is a plain mesh member, with no rights in the API.
//!
//! Invariant: only certificates signed by the cluster CA are accepted, both ways (mutual TLS).

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// ALPN protocol id of the kactor mesh; a peer speaking anything else is refused.
pub const ALPN_KACTOR: &[u8] = b"kactor/1";

/// Prefix of every node certificate's Common Name; the node id follows in decimal.
pub const NODE_CN_PREFIX: &str = "kactor-node-";

/// How long a process that lost the race to create the CA waits for the winner to publish
/// `ca.crt` after `ca.key`: the winner only has to write and fsync one small file.
pub const CA_PUBLISH_WAIT_MS_MAX: u64 = 5_000;

/// Poll interval while waiting for the CA winner; short, the wait is rare and brief.
const CA_PUBLISH_POLL_MS: u64 = 20;

/// Largest certificate or key file we read: real ones are ~1 KiB, and a corrupt or hostile
/// file must not make us read gigabytes.
pub const PKI_FILE_BYTES_MAX: u64 = 64 * 1024;

const CA_CERT_FILE: &str = "ca.crt";
const CA_KEY_FILE: &str = "ca.key";
const NODE_CERT_FILE: &str = "node.crt";
const NODE_KEY_FILE: &str = "node.key";

/// The cluster certificate authority: certificate and private key, both PEM.
#[derive(Clone)]
pub struct ClusterCa {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCa")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// A node's credentials: its certificate and key, and the CA certificate it trusts.
#[derive(Clone)]
pub struct NodeIdentity {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_cert_pem: String,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl ClusterCa {
    /// Creates a fresh CA whose Common Name is `kactor-ca-<cluster_name>`.
    pub fn create(cluster_name: &str) -> anyhow::Result<ClusterCa> {
        let key = KeyPair::generate().context("generate CA key")?;
        let params = ca_params(&format!("kactor-ca-{cluster_name}"));
        let cert = params.self_signed(&key).context("self-sign CA")?;
        let ca = ClusterCa {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        assert!(ca.cert_pem.contains("BEGIN CERTIFICATE"));
        Ok(ca)
    }

    /// Loads `ca.crt`/`ca.key` from `dir`, or creates them. Processes racing on one `dir`
    /// end up with one CA: files are published with create-new semantics (hard link of an
    /// fsynced temp file), `ca.key` first, and a loser loads the winner's files.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<ClusterCa> {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let (crt, key) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        if !key.exists() {
            if crt.exists() {
                bail!("{} exists without {}", crt.display(), key.display());
            }
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("cluster");
            let ca = ClusterCa::create(name)?;
            if publish_new(&key, ca.key_pem.as_bytes(), true)? {
                let won = publish_new(&crt, ca.cert_pem.as_bytes(), false)?;
                assert!(
                    won,
                    "ca.crt published by a process that did not publish ca.key"
                );
                sync_dir(dir)?;
                return Ok(ca);
            }
        }
        let waited = wait_for_file(&crt, Duration::from_millis(CA_PUBLISH_WAIT_MS_MAX));
        if !waited {
            bail!(
                "{} exists but {} never appeared",
                key.display(),
                crt.display()
            );
        }
        ClusterCa::load(dir)
    }

    /// Loads an existing CA from `dir` and checks that its key matches its certificate.
    /// The seed of the key that signs service account tokens, derived from the CA's key so
    /// that every member holding the CA signs and accepts the same tokens.
    pub fn service_account_key(&self) -> Vec<u8> {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(b"kactor service account signing key v1\0");
        context.update(self.key_pem.as_bytes());
        context.finish().as_ref().to_vec()
    }

    pub fn load(dir: &Path) -> anyhow::Result<ClusterCa> {
        let cert_pem = read_small(&dir.join(CA_CERT_FILE))?;
        let key_pem = read_small(&dir.join(CA_KEY_FILE))?;
        let ca = ClusterCa { cert_pem, key_pem };
        ca.issuer()
            .context("CA certificate and key do not form a usable CA")?;
        Ok(ca)
    }

    /// Issues a node certificate: CN `kactor-node-<node_id>`, SANs = `sans` (IPs become IP
    /// SANs), `kactor-node-<node_id>`, `node_name` when it is a DNS name, `localhost`,
    /// and 127.0.0.1. Good for both server and client auth. Validity: rcgen's default
    /// (1975 to 4096); the cluster has no certificate rotation yet.
    pub fn issue(
        &self,
        node_name: &str,
        node_id: u64,
        sans: &[String],
    ) -> anyhow::Result<NodeIdentity> {
        self.issue_for(node_name, node_id, sans, None)
    }

    /// `issue`, for a holder that acts in the Kubernetes API as `user`.
    pub fn issue_for(
        &self,
        node_name: &str,
        node_id: u64,
        sans: &[String],
        user: Option<&KubeUser>,
    ) -> anyhow::Result<NodeIdentity> {
        if node_id == 0 {
            bail!("node id 0 is reserved");
        }
        let cn = format!("{NODE_CN_PREFIX}{node_id}");
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, cn.clone());
        if let Some(user) = user {
            push_user(&mut params.distinguished_name, user)?;
        }
        params.subject_alt_names = node_sans(&cn, node_name, sans)?;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let (cert, key) = self.sign_leaf(params, "node")?;
        assert_eq!(
            node_id_of(cert.der()),
            Some(node_id),
            "issued CN does not parse back"
        );
        assert_eq!(
            subject_of(cert.der()).and_then(|s| s.kube_user()).as_ref(),
            user,
            "issued user does not parse back"
        );
        Ok(NodeIdentity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            ca_cert_pem: self.cert_pem.clone(),
        })
    }

    /// Issues a Kubernetes client certificate for `user`: CN the user, O its group, client
    /// auth only (kubeconfigs; the HTTPS API reads it as kube-apiserver does).
    pub fn issue_client(&self, user: &KubeUser) -> anyhow::Result<ClientCertificate> {
        if user.name.is_empty() || user.groups.len() > ISSUED_CERT_GROUPS_MAX {
            bail!("a certificate user needs a name and at most {ISSUED_CERT_GROUPS_MAX} group");
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, user.name.clone());
        for group in &user.groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group.clone());
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let (cert, key) = self.sign_leaf(params, "client")?;
        Ok(ClientCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Signs a leaf certificate of `params` (subject, SANs, extended usages) with a fresh key:
    /// digital signatures only, the CA named as its authority.
    fn sign_leaf(
        &self,
        mut params: CertificateParams,
        what: &str,
    ) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
        let (issuer, issuer_key) = self.issuer()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().with_context(|| format!("generate {what} key"))?;
        let cert = params
            .signed_by(&key, &issuer, &issuer_key)
            .with_context(|| format!("sign {what} cert"))?;
        Ok((cert, key))
    }

    /// Rebuilds an rcgen issuer from the PEM files. rcgen (without x509-parser) cannot load a
    /// CA certificate, but signing only needs the issuer's subject DN and key: the DN is
    /// rebuilt from the CN parsed out of `ca.crt`, exactly as `create` encoded it.
    fn issuer(&self) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
        let der =
            CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).context("parse CA PEM")?;
        let cn = common_name_of(&der).context("CA certificate has no Common Name")?;
        let key = KeyPair::from_pem(&self.key_pem).context("parse CA key PEM")?;
        let spki = spki_of(&der).context("CA certificate has no public key")?;
        if spki != key.public_key_der() {
            bail!("CA key does not match CA certificate");
        }
        let cert = ca_params(&cn)
            .self_signed(&key)
            .context("rebuild CA issuer")?;
        Ok((cert, key))
    }
}

/// A user's client certificate and key, PEM.
#[derive(Clone)]
pub struct ClientCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A Kubernetes identity carried in a certificate: its user name and groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeUser {
    pub name: String,
    pub groups: Vec<String>,
}

impl KubeUser {
    pub fn new(name: &str, groups: &[&str]) -> KubeUser {
        KubeUser {
            name: name.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// Groups a certificate we issue may carry: rcgen writes one value per attribute type.
/// (Certificates from elsewhere may carry several O entries; `subject_of` reads them
/// all. A user in more groups can use a bearer token.)
pub const ISSUED_CERT_GROUPS_MAX: usize = 1;

fn push_user(dn: &mut DistinguishedName, user: &KubeUser) -> anyhow::Result<()> {
    if user.name.is_empty() || user.groups.len() > ISSUED_CERT_GROUPS_MAX {
        bail!("a certificate user needs a name and at most {ISSUED_CERT_GROUPS_MAX} group");
    }
    dn.push(DnType::OrganizationalUnitName, user.name.clone());
    for group in &user.groups {
        dn.push(DnType::OrganizationName, group.clone());
    }
    Ok(())
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn node_sans(cn: &str, node_name: &str, sans: &[String]) -> anyhow::Result<Vec<SanType>> {
    let mut out: Vec<SanType> = Vec::new();
    let mut push = |san: SanType| {
        if !out.contains(&san) {
            out.push(san);
        }
    };
    for s in sans {
        push(san_of(s).with_context(|| format!("invalid SAN {s:?}"))?);
    }
    push(san_of(cn)?);
    if is_dns_name(node_name) {
        push(san_of(node_name)?);
    }
    push(san_of("localhost")?);
    push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    Ok(out)
}

fn san_of(s: &str) -> anyhow::Result<SanType> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    rustls_pki_types::DnsName::try_from(s).map_err(|_| anyhow::anyhow!("not a DNS name or IP"))?;
    Ok(SanType::DnsName(s.to_string().try_into()?))
}

impl NodeIdentity {
    /// Writes `node.crt`, `node.key` (mode 0600) and `ca.crt` into `dir`, each atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        replace_file(&dir.join(NODE_KEY_FILE), self.key_pem.as_bytes(), true)?;
        replace_file(&dir.join(NODE_CERT_FILE), self.cert_pem.as_bytes(), false)?;
        replace_file(&dir.join(CA_CERT_FILE), self.ca_cert_pem.as_bytes(), false)?;
        sync_dir(dir)
    }

    /// Reads what `save` wrote.
    pub fn load(dir: &Path) -> anyhow::Result<NodeIdentity> {
        let identity = NodeIdentity {
            cert_pem: read_small(&dir.join(NODE_CERT_FILE))?,
            key_pem: read_small(&dir.join(NODE_KEY_FILE))?,
            ca_cert_pem: read_small(&dir.join(CA_CERT_FILE))?,
        };
        identity
            .node_id()
            .context("node.crt has no kactor node id")?;
        Ok(identity)
    }

    /// The node id in this identity's certificate CN.
    pub fn node_id(&self) -> Option<u64> {
        let der = CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).ok()?;
        node_id_of(&der)
    }

    /// TLS 1.3 server config: presents the node cert, requires a client cert signed by the
    /// cluster CA, ALPN `kactor/1`.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(self.roots()?);
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .context("build client verifier")?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.cert_chain()?, self.private_key()?)
            .context("server cert")?;
        config.alpn_protocols = vec![ALPN_KACTOR.to_vec()];
        Ok(Arc::new(config))
    }

    /// The HTTPS API's TLS config (TLS 1.2 and 1.3, ALPN h2 and http/1.1): presents this
    /// certificate, and verifies a client certificate against the cluster CA when one is
    /// offered (token and anonymous clients offer none).
    pub fn https_server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(self.roots()?);
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .allow_unauthenticated()
                .build()
                .context("build client verifier")?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.cert_chain()?, self.private_key()?)
            .context("server cert")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// TLS 1.3 client config: trusts only the cluster CA, presents the node cert, ALPN
    /// `kactor/1`.
    pub fn client_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(self.cert_chain()?, self.private_key()?)
            .context("client cert")?;
        config.alpn_protocols = vec![ALPN_KACTOR.to_vec()];
        Ok(Arc::new(config))
    }

    fn roots(&self) -> anyhow::Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let ca = CertificateDer::from_pem_slice(self.ca_cert_pem.as_bytes()).context("CA PEM")?;
        roots.add(ca).context("add cluster CA to roots")?;
        assert_eq!(roots.len(), 1);
        Ok(roots)
    }

    fn cert_chain(&self) -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let cert = CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).context("node PEM")?;
        Ok(vec![cert])
    }

    fn private_key(&self) -> anyhow::Result<PrivateKeyDer<'static>> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).context("node key PEM")
    }
}

/// The node id in a certificate's Common Name `kactor-node-<id>`, or None if the DER does not
/// parse or the CN is not of that form. Safe on arbitrary bytes.
pub fn node_id_of(cert_der: &[u8]) -> Option<u64> {
    let cn = common_name_of(cert_der)?;
    let digits = cn.strip_prefix(NODE_CN_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: u64 = digits.parse().ok()?;
    (id != 0).then_some(id)
}

/// The cluster's NodeId for a node called `name`: FNV-1a 64 of the name, never 0.
pub fn node_id_from_name(name: &str) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET_BASIS;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    if hash == 0 {
        1
    } else {
        hash
    }
}

// ---- minimal DER reading: just enough to find the subject CN and the SPKI ----

const DER_SEQUENCE: u8 = 0x30;
const DER_SET: u8 = 0x31;
const DER_OID: u8 = 0x06;
const DER_CONTEXT_0: u8 = 0xa0;
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
const OID_ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];

/// Splits one DER TLV off the front of `input`: (tag, contents, rest). Definite short or long
/// lengths up to 4 bytes only; everything is bounds-checked.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// One DER element: its tag, its contents, and the whole encoding (header included).
#[derive(Clone, Copy, Default)]
struct DerField<'a> {
    tag: u8,
    contents: &'a [u8],
    whole: &'a [u8],
}

/// The TBSCertificate's fields after the optional version: serial, sigalg, issuer, validity,
/// subject, spki.
fn tbs_fields(cert_der: &[u8]) -> Option<[DerField<'_>; 6]> {
    let (tag, cert, _) = der_next(cert_der)?;
    if tag != DER_SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = der_next(cert)?;
    if tag != DER_SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    let (tag, _, after) = der_next(rest)?;
    if tag == DER_CONTEXT_0 {
        rest = after;
    }
    let mut fields = [DerField::default(); 6];
    for field in fields.iter_mut() {
        let (tag, contents, after) = der_next(rest)?;
        // Keep the whole TLV too (needed for the SPKI comparison).
        let whole = &rest[..rest.len() - after.len()];
        *field = DerField {
            tag,
            contents,
            whole,
        };
        rest = after;
    }
    Some(fields)
}

fn spki_of(cert_der: &[u8]) -> Option<Vec<u8>> {
    let fields = tbs_fields(cert_der)?;
    let spki = fields[5];
    (spki.tag == DER_SEQUENCE).then(|| spki.whole.to_vec())
}

/// The parts of a certificate's subject that name its holder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// The first CN.
    pub common_name: Option<String>,
    /// Every O, in order: Kubernetes' groups.
    pub organizations: Vec<String>,
    /// Every OU, in order.
    pub organizational_units: Vec<String>,
}

impl Subject {
    /// The Kubernetes identity of a mesh certificate: the OU names the user, the O
    /// entries its groups. None for a certificate without an OU.
    pub fn kube_user(&self) -> Option<KubeUser> {
        let name = self.organizational_units.first()?;
        Some(KubeUser {
            name: name.clone(),
            groups: self.organizations.clone(),
        })
    }
}

/// The certificate's subject. Safe on arbitrary bytes: None if it does not parse, and
/// attributes that are not UTF-8 are skipped.
pub fn subject_of(cert_der: &[u8]) -> Option<Subject> {
    let fields = tbs_fields(cert_der)?;
    let subject = fields[4];
    let mut rdns = subject.contents;
    if subject.tag != DER_SEQUENCE {
        return None;
    }
    let mut out = Subject::default();
    // Subject: SEQUENCE OF SET OF SEQUENCE { OID, value }. Both loops are bounded by the
    // input length: every iteration consumes at least one 2-byte TLV header.
    while !rdns.is_empty() {
        let (tag, mut set, after) = der_next(rdns)?;
        if tag != DER_SET {
            return None;
        }
        rdns = after;
        while !set.is_empty() {
            let (tag, atv, after) = der_next(set)?;
            if tag != DER_SEQUENCE {
                return None;
            }
            set = after;
            let (tag, oid, value) = der_next(atv)?;
            if tag != DER_OID {
                return None;
            }
            let (_, text, _) = der_next(value)?;
            let Ok(text) = std::str::from_utf8(text) else {
                continue;
            };
            match oid {
                OID_COMMON_NAME if out.common_name.is_none() => {
                    out.common_name = Some(text.to_string());
                }
                OID_ORGANIZATION => out.organizations.push(text.to_string()),
                OID_ORGANIZATIONAL_UNIT => out.organizational_units.push(text.to_string()),
                _ => {}
            }
        }
    }
    Some(out)
}

/// The first Common Name in the certificate's subject, as UTF-8.
fn common_name_of(cert_der: &[u8]) -> Option<String> {
    subject_of(cert_der)?.common_name
}

// ---- files ----

fn read_small(path: &Path) -> anyhow::Result<String> {
    let meta = fs::metadata(path).with_context(|| format!("stat {}", path.display()))?;
    if meta.len() > PKI_FILE_BYTES_MAX {
        bail!(
            "{} is {} bytes, over {PKI_FILE_BYTES_MAX}",
            path.display(),
            meta.len()
        );
    }
    fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

fn temp_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    let nonce: u64 = rand::random();
    final_path.with_file_name(format!(".{name}.tmp-{}-{nonce:016x}", std::process::id()))
}

fn write_temp(final_path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<PathBuf> {
    let tmp = temp_path(final_path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("create {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("write {}", tmp.display()))?;
    file.sync_all()
        .with_context(|| format!("fsync {}", tmp.display()))?;
    Ok(tmp)
}

/// Publishes `bytes` at `path` only if nothing is there yet. Returns false if another
/// process published first.
fn publish_new(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<bool> {
    let tmp = write_temp(path, bytes, secret)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("link {}", path.display())),
    }
}

fn replace_file(path: &Path, bytes: &[u8], secret: bool) -> anyhow::Result<()> {
    let tmp = write_temp(path, bytes, secret)?;
    fs::rename(&tmp, path).with_context(|| format!("rename onto {}", path.display()))
}

/// Creates `path` with `bytes`, readable by the owner only, unless it exists: of processes
/// racing to create one file, one wins and the others keep its bytes. True for the winner.
pub fn create_secret_file_once(path: &Path, bytes: &[u8]) -> anyhow::Result<bool> {
    let won = publish_new(path, bytes, true)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(won)
}

/// Replaces `path` atomically and durably with `bytes`, readable by the owner only: for
/// the server's other credentials (kubeconfig, token file, encryption keys).
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    replace_file(path, bytes, true)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Whether `name` is a DNS name a certificate may carry as a SAN.
pub fn is_dns_name(name: &str) -> bool {
    rustls_pki_types::DnsName::try_from(name).is_ok()
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync {}", dir.display()))?;
    Ok(())
}

fn wait_for_file(path: &Path, wait_max: Duration) -> bool {
    let polls = wait_max.as_millis() / u128::from(CA_PUBLISH_POLL_MS);
    for _ in 0..=polls {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(CA_PUBLISH_POLL_MS));
    }
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::server::danger::ClientCertVerifier;
    use rustls_pki_types::UnixTime;

    fn der_of(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem")
    }

    fn verifier_for(ca_pem: &str) -> Arc<dyn ClientCertVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der_of(ca_pem)).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("verifier")
    }

    #[test]
    fn issued_cert_carries_node_id_and_verifies_against_ca() {
        let ca = ClusterCa::create("test").expect("ca");
        let sans = vec!["10.0.0.7".to_string(), "node-a.example".to_string()];
        let id = ca.issue("node-a", 42, &sans).expect("issue");
        assert_eq!(id.node_id(), Some(42));
        assert_eq!(node_id_of(&der_of(&id.cert_pem)), Some(42));
        let verifier = verifier_for(&ca.cert_pem);
        let cert = der_of(&id.cert_pem);
        verifier
            .verify_client_cert(&cert, &[], UnixTime::now())
            .expect("verifies");
        let other = ClusterCa::create("other").expect("other ca");
        let rogue = other.issue("node-a", 42, &[]).expect("issue");
        assert!(verifier
            .verify_client_cert(&der_of(&rogue.cert_pem), &[], UnixTime::now())
            .is_err());
        id.server_config().expect("server config");
        id.client_config().expect("client config");
        assert!(ca.issue("node-a", 0, &[]).is_err());
        assert!(ca.issue("node-a", 1, &["bad name!".to_string()]).is_err());
    }

    #[test]
    fn issued_user_rides_in_the_subject() {
        let ca = ClusterCa::create("test").expect("ca");
        let kubelet = KubeUser::new("system:node:w1", &["system:nodes"]);
        let id = ca.issue_for("w1", 5, &[], Some(&kubelet)).expect("issue");
        let subject = subject_of(&der_of(&id.cert_pem)).expect("subject");
        assert_eq!(subject.common_name.as_deref(), Some("kactor-node-5"));
        assert_eq!(subject.kube_user(), Some(kubelet));
        let plain = ca.issue("n", 6, &[]).expect("issue");
        assert_eq!(
            subject_of(&der_of(&plain.cert_pem))
                .expect("subject")
                .kube_user(),
            None
        );
        let two_groups = KubeUser::new("u", &["a", "b"]);
        assert!(ca.issue_for("u", 7, &[], Some(&two_groups)).is_err());
    }

    #[test]
    fn ca_reloaded_from_disk_issues_certs_the_original_ca_verifies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = ClusterCa::load_or_create(dir.path()).expect("create");
        let again = ClusterCa::load_or_create(dir.path()).expect("load");
        assert_eq!(ca.cert_pem, again.cert_pem);
        let id = again.issue("n", 7, &[]).expect("issue");
        let verifier = verifier_for(&ca.cert_pem);
        verifier
            .verify_client_cert(&der_of(&id.cert_pem), &[], UnixTime::now())
            .expect("verify");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(CA_KEY_FILE))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn racing_processes_end_up_with_one_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pki");
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || ClusterCa::load_or_create(&path).expect("ca"))
            })
            .collect();
        let cas: Vec<ClusterCa> = handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect();
        let on_disk = ClusterCa::load(&path).expect("load");
        for ca in &cas {
            assert_eq!(ca.cert_pem, on_disk.cert_pem);
            assert_eq!(ca.key_pem, on_disk.key_pem);
        }
        let leftovers: Vec<_> = fs::read_dir(&path).expect("ls").collect();
        assert_eq!(leftovers.len(), 2, "temp files left behind");
    }

    #[test]
    fn node_identity_save_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = ClusterCa::create("c").expect("ca");
        let id = ca.issue("n", 9, &[]).expect("issue");
        id.save(dir.path()).expect("save");
        let back = NodeIdentity::load(dir.path()).expect("load");
        assert_eq!(back.cert_pem, id.cert_pem);
        assert_eq!(back.key_pem, id.key_pem);
        assert_eq!(back.ca_cert_pem, ca.cert_pem);
        id.save(dir.path()).expect("save again overwrites");
    }

    #[test]
    fn node_id_of_rejects_garbage_and_foreign_names() {
        assert_eq!(node_id_of(&[]), None);
        assert_eq!(node_id_of(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let ca = ClusterCa::create("c").expect("ca");
        assert_eq!(node_id_of(&der_of(&ca.cert_pem)), None);
        let der = der_of(&ca.issue("n", u64::MAX, &[]).expect("issue").cert_pem);
        assert_eq!(node_id_of(&der), Some(u64::MAX));
        // Every truncation of a real certificate is refused without panicking.
        for len in 0..der.len() {
            assert_eq!(node_id_of(&der[..len]), None);
        }
    }

    #[test]
    fn node_id_from_name_is_stable_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(node_id_from_name(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(node_id_from_name("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(node_id_from_name("foobar"), 0x8594_4171_f739_67e8);
        assert_ne!(node_id_from_name("node-1"), node_id_from_name("node-2"));
    }

    proptest::proptest! {
        #[test]
        fn node_id_of_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = node_id_of(&bytes);
            let _ = subject_of(&bytes);
        }
    }
}
