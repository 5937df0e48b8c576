//! Who an HTTPS request comes from, in kube-apiserver's order: a client certificate
//! signed by the cluster CA (CN the user, O the groups), else a bearer token from the
//! static token file, else anonymous when enabled, or for the health endpoints only (as
//! kube's authentication configuration's anonymous `conditions` allow, so that load
//! balancers can probe `/readyz`). Anything else is 401.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use kactor_actors::gateway::{tokens, ApiError, User};

use kactor_transport::pki;

/// Lines a token file may hold; a static file for a handful of users and robots.
pub const TOKEN_FILE_LINES_MAX: usize = 10_000;
/// Bytes of a token file.
pub const TOKEN_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

pub const ANONYMOUS_USER: &str = "system:anonymous";

#[derive(Clone, Default)]
pub struct Authenticator {
    /// Token to user.
    tokens: HashMap<String, User>,
    anonymous: bool,
    /// The public half of the key that signs service account tokens, when there is one.
    service_account_key: Option<Vec<u8>>,
}

/// Who a request is, and, for a service account token, the account's uid (which the
/// caller checks against the live account, so a deleted account's tokens stop working).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub user: User,
    pub service_account_uid: Option<String>,
}

impl Authenticator {
    pub fn new(tokens: HashMap<String, User>, anonymous: bool) -> Authenticator {
        Authenticator {
            tokens,
            anonymous,
            service_account_key: None,
        }
    }

    /// Accepts the service account tokens signed by the key whose public half this is.
    pub fn with_service_account_key(mut self, public_key: Vec<u8>) -> Authenticator {
        self.service_account_key = Some(public_key);
        self
    }

    /// Decides who the request is. `certificate` is the verified client certificate's
    /// user, `authorization` the Authorization header, `path` the request's path.
    pub fn authenticate(
        &self,
        certificate: Option<&User>,
        authorization: Option<&str>,
        path: &str,
        now_seconds: i64,
    ) -> Result<Authenticated, ApiError> {
        let plain = |user: User| Authenticated {
            user,
            service_account_uid: None,
        };
        if let Some(user) = certificate {
            return Ok(plain(user.clone()));
        }
        // As kube-apiserver: another scheme (Basic) is no attempt at all; a bearer token
        // that is not known fails, even when anonymous requests are allowed.
        if let Some(token) = authorization.and_then(bearer_token) {
            if let Some(user) = self.tokens.get(token) {
                let mut user = user.clone();
                authenticated(&mut user);
                return Ok(plain(user));
            }
            let key = self.service_account_key.as_deref();
            let verified = key.and_then(|key| tokens::verify(key, token, now_seconds));
            let (user, uid) = verified.ok_or_else(unauthorized)?;
            return Ok(Authenticated {
                user,
                service_account_uid: Some(uid),
            });
        }
        if self.anonymous || is_health_path(path) {
            let user = User::new(ANONYMOUS_USER, &["system:unauthenticated"]);
            return Ok(plain(user));
        }
        Err(unauthorized())
    }
}

/// `/livez`, `/readyz`, `/healthz` and their single checks (`/readyz/etcd`).
fn is_health_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next();
    matches!(first, Some("livez" | "readyz" | "healthz"))
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// kube-apiserver's 401: the same Status, whatever failed.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized".into())
}

fn authenticated(user: &mut User) {
    if !user.in_group("system:authenticated") {
        user.groups.push("system:authenticated".into());
    }
}

/// The user a verified client certificate names: a mesh certificate's OU user (see
/// `pki::Subject::kube_user`), else Kubernetes' convention, CN the user and O the groups.
pub fn user_of_certificate(der: &[u8]) -> Option<User> {
    let subject = pki::subject_of(der)?;
    let (name, groups) = match subject.kube_user() {
        Some(user) => (user.name, user.groups),
        None => (subject.common_name?, subject.organizations),
    };
    if name.is_empty() {
        return None;
    }
    let mut user = User { name, groups };
    authenticated(&mut user);
    Some(user)
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

    fn user_of(
        authenticator: &Authenticator,
        certificate: Option<&User>,
        authorization: Option<&str>,
        path: &str,
    ) -> Result<User, ApiError> {
        authenticator
            .authenticate(certificate, authorization, path, 0)
            .map(|who| who.user)
    }

    #[test]
    fn certificate_then_token_then_anonymous() {
        let tokens = parse_token_file("abc,alice,1,dev").unwrap();
        let strict = Authenticator::new(tokens.clone(), false);
        let admin = User::new("admin", &["system:masters"]);
        assert_eq!(
            user_of(&strict, Some(&admin), None, "/api/v1/pods").unwrap(),
            admin
        );
        let alice = user_of(&strict, None, Some("Bearer abc"), "/api/v1/pods").unwrap();
        assert_eq!(alice, User::new("alice", &["dev", "system:authenticated"]));
        assert_eq!(
            user_of(&strict, None, Some("Bearer nope"), "/api/v1/pods")
                .unwrap_err()
                .code,
            401
        );
        assert_eq!(
            user_of(&strict, None, Some("Basic abc"), "/api/v1/pods")
                .unwrap_err()
                .code,
            401
        );
        assert_eq!(
            user_of(&strict, None, Some("bearer abc"), "/api/v1/pods").unwrap(),
            alice
        );
        assert_eq!(
            user_of(&strict, None, None, "/api/v1/pods")
                .unwrap_err()
                .code,
            401
        );
        // Health endpoints answer anyone, so load balancers can probe them.
        let prober = user_of(&strict, None, None, "/readyz/etcd").unwrap();
        assert_eq!(prober.name, ANONYMOUS_USER);
        assert_eq!(
            user_of(&strict, None, None, "/readyzz").unwrap_err().code,
            401
        );
        let open = Authenticator::new(tokens, true);
        assert_eq!(
            user_of(&open, None, None, "/api/v1/pods").unwrap().name,
            ANONYMOUS_USER
        );
        let basic = user_of(&open, None, Some("Basic dTpw"), "/api/v1/pods").unwrap();
        assert_eq!(basic.name, ANONYMOUS_USER);
        // A service account token signed by the server's key is its account.
        let key = [7u8; tokens::KEY_SEED_BYTES];
        let account =
            serde_json::json!({"metadata": {"name": "robot", "namespace": "team", "uid": "u"}});
        let stamp = kactor_actors::gateway::Stamp {
            unix_ms: 1_700_000_000_000,
            entropy: 1,
        };
        let request = serde_json::json!({"spec": {}});
        let issued = tokens::issue(&key, &account, &request, stamp).unwrap();
        let header = format!("Bearer {}", issued["status"]["token"].as_str().unwrap());
        let with_key = Authenticator::new(HashMap::new(), false)
            .with_service_account_key(tokens::public_key(&key).unwrap());
        let who = with_key
            .authenticate(None, Some(&header), "/api/v1/pods", 1_700_000_000)
            .unwrap();
        assert_eq!(who.user.name, "system:serviceaccount:team:robot");
        assert_eq!(who.service_account_uid.as_deref(), Some("u"));
        assert_eq!(
            user_of(&strict, None, Some(&header), "/").unwrap_err().code,
            401
        );
        // A wrong token is refused even when anonymous requests are allowed.
        assert_eq!(
            user_of(&open, None, Some("Bearer nope"), "/api/v1/pods")
                .unwrap_err()
                .code,
            401
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
        assert!(found.in_group("system:nodes") && found.in_group("system:authenticated"));
        let client = ca.issue_client(&KubeUser::new("jane", &["dev"])).unwrap();
        let der =
            rustls_pki_types::CertificateDer::from_pem_slice(client.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            user_of_certificate(&der).unwrap(),
            User::new("jane", &["dev", "system:authenticated"])
        );
    }
}
