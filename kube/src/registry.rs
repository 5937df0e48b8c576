//! The resource types kactor serves: group, version, kind, plural and scope, as the
//! discovery documents of kube-apiserver list them. The gateway routes by this table,
//! and the store keys objects by it.

/// One served resource type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceType {
    /// "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The URL segment: `pods`, `deployments`.
    pub plural: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Subresources besides the main one: `status`, `scale`, `binding`, `eviction`, `log`.
    pub subresources: &'static [&'static str],
}

impl ResourceType {
    /// `v1` for the core group, `apps/v1` otherwise: the object's `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods`, `deployments.apps`: the name RBAC rules and error messages use.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether this kind is a question rather than an object: a create of it is answered
    /// (who am I, may I) and nothing is stored, listed or watched, as kube's review APIs.
    pub fn is_review(&self) -> bool {
        matches!(self.group, "authentication.k8s.io" | "authorization.k8s.io")
    }

    /// Whether the server keeps `metadata.generation` (1 at creation, bumped by each spec
    /// change) for this kind: kube's strategies do for the workloads, whose controllers
    /// report the generation they saw; other kinds have none.
    pub fn tracks_generation(&self) -> bool {
        matches!(
            self.kind,
            "Pod"
                | "Deployment"
                | "ReplicaSet"
                | "StatefulSet"
                | "DaemonSet"
                | "ReplicationController"
                | "Job"
                | "CronJob"
                | "PodDisruptionBudget"
                | "Ingress"
                | "NetworkPolicy"
        )
    }
}

const STATUS: &[&str] = &["status"];
const SCALABLE: &[&str] = &["status", "scale"];
const NONE: &[&str] = &[];

macro_rules! resource {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $namespaced:expr, $short:expr, $sub:expr) => {
        ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            namespaced: $namespaced,
            short_names: $short,
            subresources: $sub,
        }
    };
}

/// Every resource type the gateway serves.
pub const RESOURCES: &[ResourceType] = &[
    resource!(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        &["status", "finalize"]
    ),
    resource!(
        "",
        "v1",
        "Pod",
        "pods",
        true,
        &["po"],
        &["status", "binding", "eviction", "log", "exec"]
    ),
    resource!("", "v1", "Node", "nodes", false, &["no"], STATUS),
    resource!("", "v1", "Service", "services", true, &["svc"], STATUS),
    resource!("", "v1", "Endpoints", "endpoints", true, &["ep"], NONE),
    resource!("", "v1", "ConfigMap", "configmaps", true, &["cm"], NONE),
    resource!("", "v1", "Secret", "secrets", true, NONE, NONE),
    resource!("", "v1", "Event", "events", true, &["ev"], NONE),
    resource!(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        &["token"]
    ),
    resource!(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
        STATUS
    ),
    resource!(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        STATUS
    ),
    resource!(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        true,
        &["limits"],
        NONE
    ),
    resource!(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
        STATUS
    ),
    resource!(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        SCALABLE
    ),
    resource!(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        SCALABLE
    ),
    resource!(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        SCALABLE
    ),
    resource!(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        STATUS
    ),
    resource!(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        NONE,
        NONE
    ),
    resource!("batch", "v1", "Job", "jobs", true, NONE, STATUS),
    resource!("batch", "v1", "CronJob", "cronjobs", true, &["cj"], STATUS),
    resource!(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        STATUS
    ),
    resource!(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        NONE,
        NONE
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        NONE,
        NONE
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        NONE,
        NONE
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        NONE,
        NONE
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        NONE,
        NONE
    ),
    resource!(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        NONE
    ),
    resource!(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        NONE,
        NONE
    ),
    // Reviews: created to ask a question, answered, never stored (see `is_review`).
    resource!(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
        NONE,
        NONE
    ),
    resource!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        NONE,
        NONE
    ),
    resource!(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
        NONE,
        NONE
    ),
    resource!(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
        NONE,
        NONE
    ),
    resource!(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
        NONE,
        NONE
    ),
];

/// The type served at `group`/`plural` (any served version).
pub fn by_plural(group: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
}

/// The type of an object's `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_and_kinds_are_unique_per_group() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                assert!(!(a.group == b.group && a.plural == b.plural), "{a:?}");
                assert!(!(a.group == b.group && a.kind == b.kind), "{a:?}");
            }
        }
        assert_eq!(by_plural("apps", "deployments").unwrap().kind, "Deployment");
        assert_eq!(by_kind("v1", "Pod").unwrap().plural, "pods");
        assert!(by_kind("apps/v1", "Pod").is_none());
    }
}
