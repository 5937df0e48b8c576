//! What an HTTPS request carries about who sent it, verified as far as only the shell can:
//! the client certificate (its chain checked by TLS against the cluster CA), a bearer
//! token (as its SHA-256, for the gateway's static token file), a service account token's
//! signature and expiry, and kube's `Impersonate-*` headers. The gateway actor decides
//! who the request is from these (`kactor_actors::gateway::authn`): the token lookup, the
//! live service account, anonymous access, and each impersonation.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use hyper::header::HeaderMap;
use kactor_actors::gateway::authn::{StaticTokens, TokenDigest};
use kactor_actors::gateway::{tokens, Credentials, Impersonation, User};
use kactor_transport::pki;

/// Lines a token file may hold; a static file for a handful of users and robots.
pub const TOKEN_FILE_LINES_MAX: usize = 10_000;
/// Bytes of a token file.
pub const TOKEN_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

const IMPERSONATE_USER_HEADER: &str = "impersonate-user";
const IMPERSONATE_GROUP_HEADER: &str = "impersonate-group";
const IMPERSONATE_UID_HEADER: &str = "impersonate-uid";
const IMPERSONATE_EXTRA_HEADER_PREFIX: &str = "impersonate-extra-";

/// Reads credentials off requests.
#[derive(Clone, Default)]
pub struct CredentialReader {
    /// The public half of the key that signs service account tokens, when there is one.
    service_account_key: Option<Vec<u8>>,
}

impl CredentialReader {
    /// Verifies service account tokens with the key whose public half this is.
    pub fn new(service_account_key: Option<Vec<u8>>) -> CredentialReader {
        CredentialReader {
            service_account_key,
        }
    }

    /// The credentials of a request: `certificate` is the verified client certificate's
    /// user, `headers` the request's.
    pub fn read(
        &self,
        certificate: Option<User>,
        headers: &HeaderMap,
        now_seconds: i64,
    ) -> Credentials {
        let authorization = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // Another scheme (Basic) is no attempt at all, as in kube-apiserver.
        let token = authorization.and_then(bearer_token);
        let service_account = token.and_then(|token| {
            let key = self.service_account_key.as_deref()?;
            tokens::verify(key, token, now_seconds)
        });
        Credentials {
            certificate,
            bearer_token: token.map(token_digest),
            service_account,
            impersonation: impersonation(headers),
        }
    }
}

/// kube's impersonation headers, as sent.
fn impersonation(headers: &HeaderMap) -> Impersonation {
    let values = |name: &str| -> Vec<String> {
        let all = headers.get_all(name).iter();
        all.filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    Impersonation {
        user: values(IMPERSONATE_USER_HEADER).into_iter().next(),
        groups: values(IMPERSONATE_GROUP_HEADER),
        uid_or_extra: headers.keys().any(|k| {
            k.as_str() == IMPERSONATE_UID_HEADER
                || k.as_str().starts_with(IMPERSONATE_EXTRA_HEADER_PREFIX)
        }),
    }
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A bearer token as the gateway knows it.
pub fn token_digest(token: &str) -> TokenDigest {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut bytes = [0; 32];
    bytes.copy_from_slice(digest.as_ref());
    bytes
}

/// The user a verified client certificate names: a mesh certificate's OU user (see
/// `pki::Subject::kube_user`), else Kubernetes' convention, CN the user and O the groups.
/// The gateway adds `system:authenticated` when it takes the certificate.
pub fn user_of_certificate(der: &[u8]) -> Option<User> {
    let subject = pki::subject_of(der)?;
    let (name, groups) = match subject.kube_user() {
        Some(user) => (user.name, user.groups),
        None => (subject.common_name?, subject.organizations),
    };
    if name.is_empty() {
        return None;
    }
    Some(User { name, groups })
}

/// The static token file as the gateway keeps it: each token's digest and user.
pub fn static_tokens(tokens: HashMap<String, User>) -> StaticTokens {
    tokens
        .into_iter()
        .map(|(token, user)| (token_digest(&token), user))
        .collect()
}

/// Reads kube-apiserver's static token file: `token,user,uid,"group1,group2"` per line.
pub fn load_token_file(path: &Path) -> anyhow::Result<HashMap<String, User>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("stat {}", path.display()))?
        .len();
    if size > TOKEN_FILE_BYTES_MAX {
        bail!("{} is over {TOKEN_FILE_BYTES_MAX} bytes", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_token_file(&text).with_context(|| format!("in {}", path.display()))
}

pub fn parse_token_file(text: &str) -> anyhow::Result<HashMap<String, User>> {
    let mut tokens = HashMap::new();
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    for (index, line) in lines {
        if tokens.len() >= TOKEN_FILE_LINES_MAX {
            bail!("more than {TOKEN_FILE_LINES_MAX} tokens");
        }
        let fields = csv_fields(line);
        let [token, name, _uid, rest @ ..] = fields.as_slice() else {
            bail!("line {}: not token,user,uid[,\"groups\"]", index + 1);
        };
        if token.is_empty() || name.is_empty() {
            bail!("line {}: empty token or user", index + 1);
        }
        let groups = rest
            .first()
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let user = User {
            name: name.clone(),
            groups,
        };
        if tokens.insert(token.clone(), user).is_some() {
            bail!("line {}: the token is listed twice", index + 1);
        }
    }
    Ok(tokens)
}

/// The comma-separated fields of one line; a field in double quotes may hold commas.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.trim().chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use kactor_transport::pki::{ClusterCa, KubeUser};
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn token_file_in_kubes_format() {
        let tokens = parse_token_file("# comment\nabc,alice,1,\"dev,ops\"\n\nxyz,bob,2\n").unwrap();
        assert_eq!(tokens["abc"], User::new("alice", &["dev", "ops"]));
        assert_eq!(tokens["xyz"], User::new("bob", &[]));
        assert!(parse_token_file("abc,alice").is_err());
        assert!(parse_token_file("a,u,1\na,v,2").is_err());
    }

    #[test]
    fn credentials_carry_what_was_sent_and_what_verified() {
        let key = [7u8; tokens::KEY_SEED_BYTES];
        let account =
            serde_json::json!({"metadata": {"name": "robot", "namespace": "team", "uid": "u"}});
        let stamp = kactor_actors::gateway::Stamp {
            unix_ms: 1_700_000_000_000,
            entropy: 1,
        };
        let request = serde_json::json!({"spec": {}});
        let issued = tokens::issue(&key, &account, &request, stamp).unwrap();
        let token = issued["status"]["token"].as_str().unwrap().to_string();
        let reader = CredentialReader::new(Some(tokens::public_key(&key).unwrap()));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers.append("impersonate-user", "jane".parse().unwrap());
        headers.append("impersonate-group", "dev".parse().unwrap());
        headers.append("impersonate-group", "ops".parse().unwrap());
        let read = reader.read(None, &headers, 1_700_000_000);
        assert_eq!(read.bearer_token, Some(token_digest(&token)));
        let (user, uid) = read.service_account.unwrap();
        assert_eq!(user.name, "system:serviceaccount:team:robot");
        assert_eq!(uid, "u");
        assert_eq!(read.impersonation.user.as_deref(), Some("jane"));
        assert_eq!(read.impersonation.groups, ["dev", "ops"]);
        assert!(!read.impersonation.uid_or_extra);
        // Long expired: the signature holds, the token does not.
        let late = reader.read(None, &headers, 1_800_000_000);
        assert!(late.service_account.is_none());
        assert!(late.bearer_token.is_some());
        // Basic is no bearer token; a uid header is flagged.
        let mut basic = HeaderMap::new();
        basic.insert("authorization", "Basic dTpw".parse().unwrap());
        basic.insert("impersonate-uid", "1".parse().unwrap());
        let read = reader.read(None, &basic, 0);
        assert_eq!(read.bearer_token, None);
        assert!(read.impersonation.uid_or_extra);
        assert_eq!(
            static_tokens(parse_token_file("abc,alice,1,dev").unwrap())[&token_digest("abc")],
            User::new("alice", &["dev"])
        );
    }

    #[test]
    fn certificate_users() {
        let ca = ClusterCa::create("t").unwrap();
        let user = KubeUser::new("system:node:w1", &["system:nodes"]);
        let mesh = ca.issue_for("w1", 3, &[], Some(&user)).unwrap();
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(mesh.cert_pem.as_bytes()).unwrap();
        let found = user_of_certificate(&der).unwrap();
        assert_eq!(found.name, "system:node:w1");
        assert_eq!(found.groups, ["system:nodes"]);
        let client = ca.issue_client(&KubeUser::new("jane", &["dev"])).unwrap();
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(client.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            user_of_certificate(&der).unwrap(),
            User::new("jane", &["dev"])
        );
    }
}
