//! The gateway's protocol: Kubernetes API requests as typed values, their responses
//! (objects as JSON bytes, errors as Kubernetes `Status`), and watch streams. The HTTPS
//! shell (kubectl) and every component (over the mesh) speak this.
//!
//! Objects travel as JSON bytes: the wire codec (bincode) cannot carry a self-describing
//! JSON value, and JSON is what the store holds and what HTTP clients read anyway.

use serde::{Deserialize, Serialize};

use crate::kernel::NodeId;
use crate::store::Revision;
use kactor_kube::patch::PatchType;
use kactor_kube::status::Cause;

/// Chosen by the caller; unique per caller. A watch's stream carries its request's id.
pub type ApiRequestId = u64;

/// Bytes of one request body: kube-apiserver's 3 MiB request limit.
pub const REQUEST_BODY_BYTES_MAX: usize = 3 * 1024 * 1024;
/// Objects one list page returns at most, whatever `limit` asks: a page stays far under
/// the mesh's message maximum even with large objects.
pub const LIST_PAGE_OBJECTS_MAX: u64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch(PatchType),
    Delete,
    DeleteCollection,
    /// May the user GET the non-resource URL in `path.name` (`/version`, `/apis`)? Answered
    /// 200 with no body, or 403; the HTTPS shell serves the document itself.
    GetPath,
}

impl Verb {
    /// The RBAC verb.
    pub fn rbac_name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch(_) => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
            Verb::GetPath => "get",
        }
    }

    pub fn is_mutating(self) -> bool {
        !matches!(self, Verb::Get | Verb::List | Verb::Watch | Verb::GetPath)
    }
}

/// What a request addresses: `/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}/{sub}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourcePath {
    /// "" for the core group.
    pub group: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Query parameters of list, watch and deletecollection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListOptions {
    pub label_selector: String,
    pub field_selector: String,
    /// 0: no limit (still bounded by `LIST_PAGE_OBJECTS_MAX`).
    pub limit: u64,
    pub continue_token: String,
    /// "" is the latest (a consistent read); "0" is any; otherwise a revision.
    pub resource_version: String,
    /// "", "NotOlderThan" or "Exact".
    pub resource_version_match: String,
    pub allow_watch_bookmarks: bool,
    /// A watch from "" or "0" starts with ADDED events for what exists (Kubernetes'
    /// default for those); an explicit `false` turns that off.
    pub send_initial_events: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApiRequest {
    pub verb: Verb,
    pub path: ResourcePath,
    /// JSON: the object (create, update), the patch, or DeleteOptions' JSON.
    pub body: Vec<u8>,
    pub list: ListOptions,
    pub delete: DeleteOptions,
    pub dry_run: bool,
    /// The `fieldManager` query parameter: who makes a write, as `metadata.managedFields`
    /// records it. Required for an apply; empty elsewhere means "unknown" (kube derives one
    /// from the User-Agent; the HTTPS shell fills this with the User-Agent's product).
    pub field_manager: String,
    /// The `force` query parameter of an apply: take the fields other managers own instead of
    /// failing with a conflict. Only an apply may set it.
    pub force: bool,
    /// The `fieldValidation` query parameter: what a write does with fields its kind
    /// does not have.
    pub field_validation: FieldValidation,
}

/// kube's `fieldValidation`: unknown (or duplicate) fields in a write's body are dropped
/// (`Ignore`), dropped with a warning (`Warn`, kube's default), or refused (`Strict`,
/// kubectl's default).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl ApiRequest {
    pub fn new(verb: Verb, path: ResourcePath) -> ApiRequest {
        ApiRequest {
            verb,
            path,
            body: Vec::new(),
            list: ListOptions::default(),
            delete: DeleteOptions::default(),
            dry_run: false,
            field_manager: String::new(),
            force: false,
            field_validation: FieldValidation::default(),
        }
    }
}

/// An authenticated identity: Kubernetes' `user.Info`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn new(name: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
    /// The node a kubelet acts for: `system:node:<name>` in group `system:nodes`.
    pub fn node_name(&self) -> Option<&str> {
        if !self.in_group("system:nodes") {
            return None;
        }
        self.name.strip_prefix("system:node:")
    }
}

/// What only the host can supply, stamped on each request as it arrives: the wall clock
/// (creationTimestamp, deletionTimestamp) and fresh randomness (uids, encryption nonces).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Stamp {
    pub unix_ms: u64,
    pub entropy: u128,
}

/// A Kubernetes error, rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Expired`, `Forbidden`, ...
    pub reason: String,
    pub message: String,
    /// Boxed: most errors carry few details, and errors travel in `Result`s everywhere.
    pub details: Box<StatusDetails>,
}

/// The `details` of a Status: what the error is about, and the causes of an Invalid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatusDetails {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: u32,
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: String) -> ApiError {
        ApiError {
            code,
            reason: reason.into(),
            message,
            details: Box::default(),
        }
    }
    fn with_details(mut self, group: &str, plural: &str, name: &str) -> ApiError {
        self.details.group = group.into();
        self.details.kind = plural.into();
        self.details.name = name.into();
        self
    }
    /// `{plural}.{group}`, as kube-apiserver names a resource in messages.
    fn qualified(group: &str, plural: &str) -> String {
        if group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{group}")
        }
    }
    pub fn not_found(group: &str, plural: &str, name: &str) -> ApiError {
        let what = Self::qualified(group, plural);
        ApiError::new(404, "NotFound", format!("{what} \"{name}\" not found"))
            .with_details(group, plural, name)
    }
    pub fn already_exists(group: &str, plural: &str, name: &str) -> ApiError {
        let what = Self::qualified(group, plural);
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{what} \"{name}\" already exists"),
        )
        .with_details(group, plural, name)
    }
    pub fn conflict(group: &str, plural: &str, name: &str) -> ApiError {
        let what = Self::qualified(group, plural);
        let message = format!(
            "Operation cannot be fulfilled on {what} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        );
        ApiError::new(409, "Conflict", message).with_details(group, plural, name)
    }
    /// 422, with one cause per invalid field.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        assert!(!causes.is_empty(), "an Invalid error names its causes");
        let summary: Vec<String> = causes.iter().map(Cause::summary).collect();
        let message = format!(
            "{kind} \"{name}\" is invalid: {}",
            if summary.len() == 1 {
                summary[0].clone()
            } else {
                format!("[{}]", summary.join(", "))
            }
        );
        let mut error = ApiError::new(422, "Invalid", message);
        error.details.group = group.into();
        error.details.kind = kind.into();
        error.details.name = name.into();
        error.details.causes = causes;
        error
    }
    pub fn bad_request(message: String) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }
    pub fn forbidden(message: String) -> ApiError {
        ApiError::new(403, "Forbidden", message)
    }
    pub fn expired(message: String) -> ApiError {
        ApiError::new(410, "Expired", message)
    }
    pub fn method_not_allowed(message: String) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message)
    }
    pub fn internal(message: String) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }
    /// The store cannot be reached or refused for now: clients retry.
    pub fn unavailable(message: String) -> ApiError {
        let mut error = ApiError::new(503, "ServiceUnavailable", message);
        error.details.retry_after_seconds = 1;
        error
    }
    pub fn too_many_requests(message: String) -> ApiError {
        let mut error = ApiError::new(429, "TooManyRequests", message);
        error.details.retry_after_seconds = 1;
        error
    }

    /// The `Status` object, as kube-apiserver writes it.
    pub fn to_status(&self) -> serde_json::Value {
        let mut status = serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        let has_details = !self.details.name.is_empty()
            || !self.details.kind.is_empty()
            || !self.details.causes.is_empty();
        if has_details || self.details.retry_after_seconds > 0 {
            let causes: Vec<serde_json::Value> = self
                .details
                .causes
                .iter()
                .map(|c| serde_json::json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect();
            let mut details =
                serde_json::json!({"name": self.details.name, "kind": self.details.kind});
            if !self.details.group.is_empty() {
                details["group"] = self.details.group.clone().into();
            }
            if !causes.is_empty() {
                details["causes"] = causes.into();
            }
            if self.details.retry_after_seconds > 0 {
                details["retryAfterSeconds"] = self.details.retry_after_seconds.into();
            }
            status["details"] = details;
        }
        status
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
}

impl WatchEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEventType::Added => "ADDED",
            WatchEventType::Modified => "MODIFIED",
            WatchEventType::Deleted => "DELETED",
            WatchEventType::Bookmark => "BOOKMARK",
        }
    }
}

/// One event of a watch stream: the object as JSON (for a bookmark, an object of the
/// watched kind carrying only `metadata.resourceVersion`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WatchEvent {
    pub kind: WatchEventType,
    pub revision: Revision,
    pub object: Vec<u8>,
}

/// kube-apiserver's bounds on a response's warnings (`apiserver/pkg/endpoints/filters/
/// warning.go`), so that headers stay small however many fields a body gets wrong: once the
/// warnings would pass `WARNINGS_CHARS_MAX` characters in all, every warning is cut to
/// `WARNING_CHARS_MAX`, and those that still do not fit are dropped.
pub const WARNINGS_CHARS_MAX: usize = 4 * 1024;
pub const WARNING_CHARS_MAX: usize = 256;

/// What a request did that the caller should hear of though it succeeded (kube's
/// `Warning: 299` headers, which kubectl prints as `Warning: ...`): distinct, in order, bounded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warnings {
    texts: Vec<String>,
    /// The bound was reached: every text is cut to `WARNING_CHARS_MAX`.
    truncating: bool,
}

impl Warnings {
    pub fn add(&mut self, text: String) {
        if text.is_empty() || self.texts.contains(&text) {
            return;
        }
        if !self.truncating && self.chars() + text.chars().count() > WARNINGS_CHARS_MAX {
            self.truncating = true;
            for kept in &mut self.texts {
                *kept = kept.chars().take(WARNING_CHARS_MAX).collect();
            }
        }
        let text: String = match self.truncating {
            true => text.chars().take(WARNING_CHARS_MAX).collect(),
            false => text,
        };
        if self.chars() + text.chars().count() <= WARNINGS_CHARS_MAX {
            self.texts.push(text);
        }
    }

    fn chars(&self) -> usize {
        self.texts.iter().map(|t| t.chars().count()).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.texts.iter().map(String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiOutcome {
    /// The object, list or Status of success, as JSON.
    Ok {
        code: u16,
        body: Vec<u8>,
        warnings: Warnings,
    },
    Err(ApiError),
    /// A watch was established; `GatewayMsg::WatchEvents` follow.
    Watching,
}

impl ApiOutcome {
    /// A success with nothing to warn of.
    pub fn ok(code: u16, body: Vec<u8>) -> ApiOutcome {
        ApiOutcome::Ok {
            code,
            body,
            warnings: Warnings::default(),
        }
    }
}

/// Where an answer goes: the caller's node and its request id.
pub type Caller = (NodeId, ApiRequestId);
