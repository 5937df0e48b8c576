//! rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding and ClusterRoleBinding.

use k8s_openapi::api::rbac::v1 as rbac;
use serde_json::Value;

use crate::selector::validate_dns1123_subdomain;
use crate::status::Cause;

use super::common::{
    check_name, child, index, lookup, quoted, require_name, typed, validate_path_segment_name,
};

// ---------------------------------------------------------------------------------------
// RBAC (rbac/validation).

pub(super) const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

pub(super) fn validate_role(object: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    let rules: Vec<rbac::PolicyRule> = if namespaced {
        let Some(role) = typed::<rbac::Role>(object, causes) else {
            return;
        };
        role.rules.unwrap_or_default()
    } else {
        let Some(role) = typed::<rbac::ClusterRole>(object, causes) else {
            return;
        };
        role.rules.unwrap_or_default()
    };
    for (position, rule) in rules.iter().enumerate() {
        validate_policy_rule(rule, namespaced, &index("rules", position), causes);
    }
}

fn validate_policy_rule(
    rule: &rbac::PolicyRule,
    namespaced: bool,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let filled = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|list| !list.is_empty());
    if rule.verbs.is_empty() {
        causes.push(Cause {
            message: "Required value: verbs must contain at least one value".into(),
            ..Cause::required(&child(path, "verbs"))
        });
    }
    if filled(&rule.non_resource_urls) {
        let urls_path = child(path, "nonResourceURLs");
        let shown = format!("{:?}", rule.non_resource_urls.clone().unwrap_or_default());
        if namespaced {
            causes.push(Cause::invalid(
                &urls_path,
                &shown,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if filled(&rule.api_groups) || filled(&rule.resources) || filled(&rule.resource_names) {
            causes.push(Cause::invalid(
                &urls_path,
                &shown,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if !filled(&rule.api_groups) {
        causes.push(Cause {
            message: "Required value: resource rules must supply at least one api group".into(),
            ..Cause::required(&child(path, "apiGroups"))
        });
    }
    if !filled(&rule.resources) {
        causes.push(Cause {
            message: "Required value: resource rules must supply at least one resource".into(),
            ..Cause::required(&child(path, "resources"))
        });
    }
}

pub(super) fn validate_role_binding(object: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    let (role_ref, subjects) = if namespaced {
        let Some(binding) = typed::<rbac::RoleBinding>(object, causes) else {
            return;
        };
        (binding.role_ref, binding.subjects.unwrap_or_default())
    } else {
        let Some(binding) = typed::<rbac::ClusterRoleBinding>(object, causes) else {
            return;
        };
        (binding.role_ref, binding.subjects.unwrap_or_default())
    };
    // An empty apiGroup is defaulted to RBAC's own group.
    if !role_ref.api_group.is_empty() && role_ref.api_group != RBAC_GROUP {
        causes.push(Cause::not_supported(
            "roleRef.apiGroup",
            &quoted(&role_ref.api_group),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        causes.push(Cause::not_supported(
            "roleRef.kind",
            &quoted(&role_ref.kind),
            kinds,
        ));
    }
    require_name(
        "roleRef.name",
        &role_ref.name,
        validate_path_segment_name,
        causes,
    );
    for (position, subject) in subjects.iter().enumerate() {
        validate_subject(subject, namespaced, &index("subjects", position), causes);
    }
}

fn validate_subject(
    subject: &rbac::Subject,
    namespaced: bool,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let group = subject.api_group.as_deref().unwrap_or_default();
    let group_path = child(path, "apiGroup");
    let name_path = child(path, "name");
    if subject.name.is_empty() {
        causes.push(Cause::required(&name_path));
    }
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                check_name(
                    &name_path,
                    &subject.name,
                    validate_dns1123_subdomain,
                    causes,
                );
            }
            if !group.is_empty() {
                causes.push(Cause::not_supported(&group_path, &quoted(group), &[""]));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or_default().is_empty() {
                causes.push(Cause::required(&child(path, "namespace")));
            }
        }
        // An empty apiGroup is defaulted to RBAC's own group for users and groups.
        "User" | "Group" if !group.is_empty() && group != RBAC_GROUP => causes.push(
            Cause::not_supported(&group_path, &quoted(group), &[RBAC_GROUP]),
        ),
        "User" | "Group" => {}
        other => causes.push(Cause::not_supported(
            &child(path, "kind"),
            &quoted(other),
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

pub(super) fn validate_role_ref_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let new_ref = lookup(new, &["roleRef"]);
    if new_ref != lookup(old, &["roleRef"]) {
        let shown = new_ref
            .map(Value::to_string)
            .unwrap_or_else(|| "null".into());
        causes.push(Cause::invalid("roleRef", &shown, "cannot change roleRef"));
    }
}
