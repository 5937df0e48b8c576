//! kube's review APIs: a create that asks a question and gets the answer in `status`, with
//! nothing stored. `kubectl auth whoami` creates a SelfSubjectReview (who am I),
//! `kubectl auth can-i` a SelfSubjectAccessReview (may I do this), `kubectl auth can-i
//! --list` a SelfSubjectRulesReview (what may I do here); components ask about someone else
//! with a SubjectAccessReview, or a LocalSubjectAccessReview confined to one namespace.
//! The answers come from the same RBAC rules that decide requests (`rbac.rs`).

use serde_json::{json, Value};

use super::api::*;
use super::calls::{ok, Call, Next};
use super::rbac::{self, Attributes};
use super::{object, Gateway};
use kactor_kube::status::Cause;

/// Answers a create of a review kind: 201 with the review and its `status`.
pub(crate) fn answer(gateway: &Gateway, call: &Call) -> Result<Next, ApiError> {
    let kind = call.resource.kind;
    let body = object::parse(&call.request.body)?;
    let mut review = object::shape(call.resource, body).map_err(|e| {
        ApiError::bad_request(format!("the object does not decode as a {kind}: {e}"))
    })?;
    review["apiVersion"] = json!(call.resource.api_version());
    review["kind"] = json!(kind);
    review["metadata"] = json!({"creationTimestamp": null});
    let spec = review.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match kind {
        "SelfSubjectReview" => json!({"userInfo": user_info(&call.user)}),
        "SelfSubjectRulesReview" => rules_review(gateway, call, &spec)?,
        "SelfSubjectAccessReview" => access_review(gateway, call, &spec, &call.user)?,
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let subject = subject_of(call, &spec)?;
            access_review(gateway, call, &spec, &subject)?
        }
        other => unreachable!("{other} is not a review kind"),
    };
    review["status"] = status;
    ok(201, &review)
}

fn user_info(user: &User) -> Value {
    json!({"username": user.name, "groups": user.groups})
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn invalid(call: &Call, field: &str, value: &Value, detail: &str) -> ApiError {
    let shown = match value {
        Value::Null => "null".to_string(),
        Value::String(text) => format!("{text:?}"),
        other => other.to_string(),
    };
    let cause = Cause::invalid(field, &shown, detail);
    ApiError::invalid(call.resource.group, call.resource.kind, "", vec![cause])
}

/// The user a SubjectAccessReview asks about (`spec.user`, `spec.groups`).
fn subject_of(call: &Call, spec: &Value) -> Result<User, ApiError> {
    let name = text(spec, "user");
    let groups: Vec<&str> = spec["groups"]
        .as_array()
        .map(|groups| groups.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if name.is_empty() && groups.is_empty() {
        let user = spec.get("user").cloned().unwrap_or(json!(""));
        let detail = "at least one of user or group must be specified";
        return Err(invalid(call, "spec.user", &user, detail));
    }
    Ok(User::new(name, &groups))
}

/// `status` of an access review: whether `subject` may do what the spec describes.
fn access_review(
    gateway: &Gateway,
    call: &Call,
    spec: &Value,
    subject: &User,
) -> Result<Value, ApiError> {
    let (resource, non_resource) = (
        spec.get("resourceAttributes"),
        spec.get("nonResourceAttributes"),
    );
    let local = call.resource.kind == "LocalSubjectAccessReview";
    match (resource, non_resource) {
        (Some(_), Some(non_resource)) => {
            let detail = "cannot be specified in combination with resourceAttributes";
            return Err(invalid(
                call,
                "spec.nonResourceAttributes",
                non_resource,
                detail,
            ));
        }
        (None, Some(_)) if local => {
            let detail = "disallowed on this kind of request";
            return Err(invalid(
                call,
                "spec.nonResourceAttributes",
                &spec["nonResourceAttributes"],
                detail,
            ));
        }
        (None, None) => {
            let detail =
                "exactly one of nonResourceAttributes or resourceAttributes must be specified";
            return Err(invalid(
                call,
                "spec.resourceAttributes",
                &Value::Null,
                detail,
            ));
        }
        _ => {}
    }
    let allowed = match (resource, non_resource) {
        (Some(attributes), _) => {
            let namespace = text(attributes, "namespace");
            if local && Some(namespace) != call.namespace() {
                return Err(ApiError::bad_request(format!(
                    "spec.resourceAttributes.namespace must match namespace: {}",
                    call.namespace().unwrap_or_default()
                )));
            }
            let plural = text(attributes, "resource");
            let resource = match text(attributes, "subresource") {
                "" => plural.to_string(),
                sub => format!("{plural}/{sub}"),
            };
            let described = Attributes {
                user: subject,
                verb: text(attributes, "verb"),
                group: text(attributes, "group"),
                resource,
                namespace: Some(namespace).filter(|ns| !ns.is_empty()),
                name: text(attributes, "name"),
            };
            rbac::user_may(gateway, &described)?
        }
        (None, Some(attributes)) => {
            let (verb, path) = (text(attributes, "verb"), text(attributes, "path"));
            rbac::non_resource_allowed(gateway, subject, verb, path)?
        }
        (None, None) => unreachable!("refused above"),
    };
    Ok(json!({"allowed": allowed}))
}

/// `status` of a SelfSubjectRulesReview: every rule that applies to the caller in
/// `spec.namespace`.
fn rules_review(gateway: &Gateway, call: &Call, spec: &Value) -> Result<Value, ApiError> {
    let namespace = text(spec, "namespace");
    let (resource_rules, non_resource_rules) = rbac::rules_of(gateway, &call.user, namespace)?;
    Ok(json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": false,
    }))
}
