//! kube's user impersonation (`kubectl --as`, `--as-group`): the `Impersonate-User` and
//! `Impersonate-Group` headers make a request act as someone else, when the authenticated
//! user may `impersonate` that user (or service account) and each group. The shell asks the
//! gateway, with a SelfSubjectAccessReview as the real user, for each name, as
//! kube-apiserver's impersonation filter asks its authorizer; a refusal is kube's 403, and a
//! request that impersonates what kactor cannot carry (a uid, extra fields) is refused
//! rather than run as someone else than asked.

use hyper::header::HeaderMap;
use kactor_actors::gateway::{ApiError, ApiRequest, ResourcePath, User, Verb};
use serde_json::{json, Value};

use kactor_transport::gateway_client::GatewayClient;

const USER_HEADER: &str = "impersonate-user";
const GROUP_HEADER: &str = "impersonate-group";
const UID_HEADER: &str = "impersonate-uid";
const EXTRA_HEADER_PREFIX: &str = "impersonate-extra-";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Groups one request may impersonate: each costs an access review.
pub const IMPERSONATED_GROUPS_MAX: usize = 32;

/// The user a request acts as: `user`, or whom its impersonation headers name.
pub async fn effective_user(
    client: &GatewayClient,
    user: User,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let values = |name: &str| -> Vec<String> {
        let all = headers.get_all(name).iter();
        all.filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let groups = values(GROUP_HEADER);
    let unsupported = headers
        .keys()
        .any(|k| k.as_str() == UID_HEADER || k.as_str().starts_with(EXTRA_HEADER_PREFIX));
    let name = match values(USER_HEADER).first() {
        None if groups.is_empty() && !unsupported => return Ok(user),
        None => {
            return Err(ApiError::bad_request(
                "requested impersonation of groups or extra fields without impersonating a user"
                    .into(),
            ))
        }
        Some(_) if unsupported => return Err(ApiError::bad_request(
            "impersonating a uid or extra fields is not supported; impersonate a user and groups"
                .into(),
        )),
        Some(name) => name.clone(),
    };
    if groups.len() > IMPERSONATED_GROUPS_MAX {
        return Err(ApiError::bad_request(format!(
            "more than {IMPERSONATED_GROUPS_MAX} impersonated groups"
        )));
    }
    let service_account = name
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    match service_account {
        Some((namespace, account)) => {
            may_impersonate(client, &user, "serviceaccounts", Some(namespace), account).await?
        }
        None => may_impersonate(client, &user, "users", None, &name).await?,
    }
    for group in &groups {
        may_impersonate(client, &user, "groups", None, group).await?;
    }
    let mut impersonated = groups;
    if let (Some((namespace, _)), true) = (service_account, impersonated.is_empty()) {
        impersonated.push("system:serviceaccounts".into());
        impersonated.push(format!("system:serviceaccounts:{namespace}"));
    }
    let authenticated = "system:authenticated".to_string();
    if name != "system:anonymous" && !impersonated.contains(&authenticated) {
        impersonated.push(authenticated);
    }
    Ok(User {
        name,
        groups: impersonated,
    })
}

/// Whether `user` may impersonate `resource` `name`: a SelfSubjectAccessReview as `user`.
async fn may_impersonate(
    client: &GatewayClient,
    user: &User,
    resource: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<(), ApiError> {
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "impersonate", "resource": resource,
                 "namespace": namespace.unwrap_or_default(), "name": name}}});
    let path = ResourcePath {
        group: "authorization.k8s.io".into(),
        plural: "selfsubjectaccessreviews".into(),
        ..ResourcePath::default()
    };
    let mut request = ApiRequest::new(Verb::Create, path);
    request.body = review.to_string().into_bytes();
    let (_, answer) = client.call_as(user.clone(), request).await?;
    let answer: Value = serde_json::from_slice(&answer)
        .map_err(|e| ApiError::internal(format!("an access review's answer: {e}")))?;
    if answer["status"]["allowed"] == true {
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
