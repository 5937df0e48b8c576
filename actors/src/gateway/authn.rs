//! Who a request is, decided in the gateway so the model checker sees it: kube-apiserver's
//! authentication order (a client certificate, else a bearer token from the static token
//! file or a service account token whose account still lives, else anonymous when enabled
//! or for the health endpoints, else 401), then its impersonation filter (`kubectl --as`,
//! `--as-group`: each name allowed by RBAC's `impersonate` for the real user, else 403).
//!
//! The HTTPS shell verifies only what it alone can, and hands the facts over as
//! [`Credentials`]: the TLS client certificate's chain, and a service account token's
//! signature and expiry. A mesh peer's host names its user from its certificate
//! ([`Requester::Peer`]); nothing a sender writes names a user.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use kactor_kube::registry::by_plural;

use super::api::{ApiError, User};
use super::object;
use super::rbac::{user_may, Attributes};
use super::Gateway;

pub const ANONYMOUS_USER: &str = "system:anonymous";
const AUTHENTICATED_GROUP: &str = "system:authenticated";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// Groups one request may impersonate: each is an RBAC decision.
pub const IMPERSONATED_GROUPS_MAX: usize = 32;

/// SHA-256 of a bearer token: the static token file is kept as digests, so neither the
/// gateway's state nor a counterexample holds a usable token.
pub type TokenDigest = [u8; 32];

/// kube-apiserver's static token file (`--token-auth-file`), as digests.
pub type StaticTokens = BTreeMap<TokenDigest, User>;

/// Who sent a request, as far as the host could verify.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Requester {
    /// A mesh peer or an in-process component: the user its certificate names, set by the
    /// host.
    Peer(User),
    /// An HTTPS request: what the shell verified, for the gateway to decide on.
    Http(Box<Credentials>),
}

impl Default for Requester {
    fn default() -> Requester {
        Requester::Peer(User::default())
    }
}

impl From<User> for Requester {
    fn from(user: User) -> Requester {
        Requester::Peer(user)
    }
}

impl From<Credentials> for Requester {
    fn from(credentials: Credentials) -> Requester {
        Requester::Http(Box::new(credentials))
    }
}

/// What an HTTPS request carried, verified as far as the shell alone can.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Credentials {
    /// The user of the client certificate whose chain TLS verified against the cluster CA.
    pub certificate: Option<User>,
    /// The `Authorization: Bearer` token's SHA-256.
    pub bearer_token: Option<TokenDigest>,
    /// When the bearer token is a service account token with a good signature, unexpired:
    /// its account's user and uid.
    pub service_account: Option<(User, String)>,
    /// The `Impersonate-*` headers.
    pub impersonation: Impersonation,
}

/// kube's impersonation headers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Impersonation {
    /// `Impersonate-User`.
    pub user: Option<String>,
    /// `Impersonate-Group`, each.
    pub groups: Vec<String>,
    /// `Impersonate-Uid` or any `Impersonate-Extra-*` was sent: kactor's users carry
    /// neither, so such a request is refused rather than run as someone else than asked.
    pub uid_or_extra: bool,
}

/// kube-apiserver's 401: the same Status, whatever failed.
pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized".into())
}

/// `/livez`, `/readyz`, `/healthz` and their single checks (`/readyz/etcd`): load balancers
/// probe them without credentials (kube's anonymous `conditions`).
pub fn is_health_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next();
    matches!(first, Some("livez" | "readyz" | "healthz"))
}

fn with_authenticated_group(mut user: User) -> User {
    if !user.in_group(AUTHENTICATED_GROUP) {
        user.groups.push(AUTHENTICATED_GROUP.into());
    }
    user
}

impl Gateway {
    /// The user a request acts as. `path` is the non-resource path asked for, if any (the
    /// health endpoints take requests without credentials).
    pub(crate) fn requester_user(
        &self,
        requester: Requester,
        path: Option<&str>,
    ) -> Result<User, ApiError> {
        let credentials = match requester {
            Requester::Peer(user) => return Ok(user),
            Requester::Http(credentials) => credentials,
        };
        let user = self.authenticate(&credentials, path)?;
        self.impersonate(user, &credentials.impersonation)
    }

    fn authenticate(
        &self,
        credentials: &Credentials,
        path: Option<&str>,
    ) -> Result<User, ApiError> {
        if let Some(user) = &credentials.certificate {
            return Ok(with_authenticated_group(user.clone()));
        }
        // As kube-apiserver: another scheme (Basic) is no attempt at all; a bearer token
        // that is not known fails, even when anonymous requests are allowed.
        if let Some(digest) = &credentials.bearer_token {
            if let Some(user) = self.config.static_tokens.get(digest) {
                return Ok(with_authenticated_group(user.clone()));
            }
            let (user, uid) = credentials
                .service_account
                .clone()
                .ok_or_else(unauthorized)?;
            return match self.live_service_account_uid(&user) {
                Some(live) if live == uid => Ok(user),
                _ => Err(unauthorized()),
            };
        }
        if self.config.anonymous_auth || path.is_some_and(is_health_path) {
            return Ok(User::new(ANONYMOUS_USER, &["system:unauthenticated"]));
        }
        Err(unauthorized())
    }

    /// The uid of the service account `user` names, from the cache: a token is good only
    /// while its account exists with the uid it names, so deleting the account revokes its
    /// tokens (kube's service account authenticator reads its informer's cache too).
    fn live_service_account_uid(&self, user: &User) -> Option<String> {
        let account = user.name.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
        let (namespace, name) = account.split_once(':')?;
        let accounts = by_plural("", "serviceaccounts")?;
        let key = object::object_key(accounts, Some(namespace), name);
        let cached = self.cache("ServiceAccount")?.get(&key)?;
        Some(cached.summary.uid.clone())
    }

    /// kube's impersonation filter: the user the request acts as instead of `user`.
    fn impersonate(&self, user: User, asked: &Impersonation) -> Result<User, ApiError> {
        let name = match (&asked.user, asked.groups.is_empty(), asked.uid_or_extra) {
            (None, true, false) => return Ok(user),
            (None, _, _) => {
                return Err(ApiError::bad_request(
                    "requested impersonation of groups or extra fields without impersonating a user"
                        .into(),
                ))
            }
            (Some(_), _, true) => {
                return Err(ApiError::bad_request(
                    "impersonating a uid or extra fields is not supported; impersonate a user and groups"
                        .into(),
                ))
            }
            (Some(name), _, false) => name.clone(),
        };
        if asked.groups.len() > IMPERSONATED_GROUPS_MAX {
            return Err(ApiError::bad_request(format!(
                "more than {IMPERSONATED_GROUPS_MAX} impersonated groups"
            )));
        }
        let service_account = name
            .strip_prefix(SERVICE_ACCOUNT_PREFIX)
            .and_then(|rest| rest.split_once(':'));
        match service_account {
            Some((namespace, account)) => {
                self.may_impersonate(&user, "serviceaccounts", Some(namespace), account)?
            }
            None => self.may_impersonate(&user, "users", None, &name)?,
        }
        for group in &asked.groups {
            self.may_impersonate(&user, "groups", None, group)?;
        }
        let mut groups = asked.groups.clone();
        if let (Some((namespace, _)), true) = (service_account, groups.is_empty()) {
            groups.push("system:serviceaccounts".into());
            groups.push(format!("system:serviceaccounts:{namespace}"));
        }
        let impersonated = User { name, groups };
        Ok(match impersonated.name == ANONYMOUS_USER {
            true => impersonated,
            false => with_authenticated_group(impersonated),
        })
    }

    /// Whether `user` may impersonate `resource` `name`, as RBAC (or `system:masters`) says.
    fn may_impersonate(
        &self,
        user: &User,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        let attributes = Attributes {
            user,
            verb: "impersonate",
            group: "",
            resource: resource.to_string(),
            namespace,
            name,
        };
        let allowed = !self.config.authorize || user_may(self, &attributes)?;
        if allowed {
            return Ok(());
        }
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".into(),
        };
        Err(ApiError::forbidden(format!(
            "{resource} \"{name}\" is forbidden: User \"{}\" cannot impersonate resource \"{resource}\" in API group \"\" {scope}",
            user.name
        )))
    }
}
