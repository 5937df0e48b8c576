//! Kubernetes' REST paths and query parameters, turned into the gateway's typed requests:
//! `/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}/{subresource}?query`, and the
//! discovery and health paths the shell serves itself.

use kactor_actors::gateway::streams::{ExecOptions, LogOptions, StreamKind, StreamRequest};
use kactor_actors::gateway::{
    ApiError, ApiRequest, FieldValidation, Propagation, ResourcePath, Verb,
};
use kactor_kube::patch::PatchType;
use kactor_kube::registry::RESOURCES;

/// Path segments a request may have: the longest real path has eight.
pub const PATH_SEGMENTS_MAX: usize = 16;

/// Where a request goes.
#[derive(Debug, PartialEq)]
pub enum Route {
    /// A path the shell answers itself, once RBAC allows the user to GET it.
    Document(Document),
    /// A request for the gateway.
    Resource(Box<ResourceCall>),
    /// A pod's log or exec: a stream through the gateway to the pod's kubelet.
    Stream(Box<StreamRequest>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Document {
    Version,
    /// `/metrics`: the process's Prometheus metrics.
    Metrics,
    /// `/healthz`, `/livez`, `/readyz`, or one check of them (`/readyz/etcd`); `verbose`
    /// lists every check.
    Health {
        endpoint: String,
        check: Option<String>,
        verbose: bool,
    },
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`.
    Resources {
        group: String,
        version: String,
    },
    /// `/openapi/v2`: swagger 2.0, every served kind.
    OpenApiV2,
    /// `/openapi/v3`: the index of the group-version documents.
    OpenApiV3Index,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/{group}/{version}`.
    OpenApiV3 {
        group: String,
        version: String,
    },
}

/// A resource request and what the shell must do with the answer.
#[derive(Debug, PartialEq)]
pub struct ResourceCall {
    pub request: ApiRequest,
    /// The API version the client addressed (`v1`, `apps/v1`).
    pub group_version: String,
    /// `includeObject` for Table answers ("" when not given).
    pub include_object: String,
    /// Server-side watch timeout, from `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
}

/// Parses one request line. `query` is the raw query string (without `?`).
pub fn parse(method: &str, path: &str, query: &str, content_type: &str) -> Result<Route, ApiError> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    if segments.len() > PATH_SEGMENTS_MAX {
        return Err(not_found(path));
    }
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let document = match parts.as_slice() {
        ["version"] => Some(Document::Version),
        ["metrics"] => Some(Document::Metrics),
        [endpoint @ ("healthz" | "livez" | "readyz"), check @ ..] => Some(Document::Health {
            endpoint: endpoint.to_string(),
            check: (!check.is_empty()).then(|| check.join("/")),
            verbose: Query::parse(query).get("verbose") != "false"
                && query
                    .split('&')
                    .any(|p| p.split('=').next() == Some("verbose")),
        }),
        ["api"] => Some(Document::CoreVersions),
        ["apis"] => Some(Document::Groups),
        ["apis", group] => Some(Document::Group(group.to_string())),
        ["api", version] => Some(Document::Resources {
            group: String::new(),
            version: version.to_string(),
        }),
        ["apis", group, version] => Some(Document::Resources {
            group: group.to_string(),
            version: version.to_string(),
        }),
        ["openapi", "v2"] => Some(Document::OpenApiV2),
        ["openapi", "v3"] => Some(Document::OpenApiV3Index),
        ["openapi", "v3", "api", version] => Some(Document::OpenApiV3 {
            group: String::new(),
            version: version.to_string(),
        }),
        ["openapi", "v3", "apis", group, version] => Some(Document::OpenApiV3 {
            group: group.to_string(),
            version: version.to_string(),
        }),
        _ => None,
    };
    if let Some(document) = document {
        if method != "GET" && method != "HEAD" {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method} {path})"
            )));
        }
        return Ok(Route::Document(document));
    }
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(not_found(path)),
    };
    let path = resource_path(group, version, rest).ok_or_else(|| not_found(path))?;
    let params = Query::parse(query);
    if let Some(stream) = stream_request(method, &path, &params)? {
        return Ok(Route::Stream(Box::new(stream)));
    }
    let request = request_of(method, path, &params, content_type)?;
    Ok(Route::Resource(Box::new(ResourceCall {
        request,
        group_version: if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        },
        include_object: params.get("includeObject").to_string(),
        timeout_seconds: params.get("timeoutSeconds").parse().ok(),
    })))
}

fn not_found(path: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!("the server could not find the requested resource ({path})"),
    )
}

/// The resource path of `rest` (what follows the group version), if it names a
/// resource this version serves.
fn resource_path(group: &str, version: &str, rest: &[&str]) -> Option<ResourcePath> {
    let serves = |plural: &str| {
        RESOURCES
            .iter()
            .any(|r| r.group == group && r.version == version && r.plural == plural)
    };
    let (namespace, rest) = match rest {
        // `/namespaces/{ns}/{plural}...`, unless it is the namespace object's own
        // subresource (`/namespaces/{name}/status`).
        ["namespaces", namespace, plural, rest @ ..] if serves(plural) => {
            let mut tail = vec![*plural];
            tail.extend_from_slice(rest);
            (Some(namespace.to_string()), tail)
        }
        rest => (None, rest.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    if !serves(plural) {
        return None;
    }
    Some(ResourcePath {
        group: group.to_string(),
        plural: plural.to_string(),
        namespace,
        name,
        subresource,
    })
}

fn request_of(
    method: &str,
    path: ResourcePath,
    params: &Query,
    content_type: &str,
) -> Result<ApiRequest, ApiError> {
    let named = path.name.is_some();
    let watch = matches!(params.get("watch"), "true" | "1");
    let verb = match (method, named) {
        ("GET" | "HEAD", _) if watch => Verb::Watch,
        ("GET" | "HEAD", true) => Verb::Get,
        ("GET" | "HEAD", false) => Verb::List,
        ("POST", _) => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch(patch_type(content_type)?),
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )))
        }
    };
    let mut request = ApiRequest::new(verb, path);
    let list = &mut request.list;
    list.label_selector = params.get("labelSelector").to_string();
    list.field_selector = params.get("fieldSelector").to_string();
    list.limit = params.get("limit").parse().unwrap_or(0);
    list.continue_token = params.get("continue").to_string();
    list.resource_version = params.get("resourceVersion").to_string();
    list.resource_version_match = params.get("resourceVersionMatch").to_string();
    list.allow_watch_bookmarks = params.get("allowWatchBookmarks") == "true";
    list.send_initial_events = match params.get("sendInitialEvents") {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    request.dry_run = params.get("dryRun") == "All";
    request.field_manager = params.get("fieldManager").to_string();
    request.force = params.get("force") == "true";
    request.field_validation = match params.get("fieldValidation") {
        "Ignore" => FieldValidation::Ignore,
        "Strict" => FieldValidation::Strict,
        "Warn" | "" => FieldValidation::Warn,
        other => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation must be one of Ignore, Warn or Strict, not {other:?}"
            )))
        }
    };
    if let Ok(grace) = params.get("gracePeriodSeconds").parse() {
        request.delete.grace_period_seconds = Some(grace);
    }
    request.delete.propagation = match params.get("propagationPolicy") {
        "Orphan" => Some(Propagation::Orphan),
        "Background" => Some(Propagation::Background),
        "Foreground" => Some(Propagation::Foreground),
        _ => match params.get("orphanDependents") {
            "true" => Some(Propagation::Orphan),
            "false" => Some(Propagation::Background),
            _ => None,
        },
    };
    Ok(request)
}

/// The field manager of a write that names none: the User-Agent's product
/// (`kubectl/v1.33.0 (linux/amd64)` is `kubectl`), as kube records it. An apply must name
/// its manager, so it gets none here.
pub fn default_field_manager(request: &mut ApiRequest, user_agent: &str) {
    if !request.field_manager.is_empty() || request.verb == Verb::Patch(PatchType::Apply) {
        return;
    }
    let product = user_agent.split('/').next().unwrap_or("");
    request.field_manager = product
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(FIELD_MANAGER_CHARS_MAX)
        .collect();
}

/// kube's limit on a field manager's length.
const FIELD_MANAGER_CHARS_MAX: usize = 128;

/// A pod's `log` or `exec` (`PodLogOptions`, `PodExecOptions` from the query), or None
/// for any other path.
fn stream_request(
    method: &str,
    path: &ResourcePath,
    params: &Query,
) -> Result<Option<StreamRequest>, ApiError> {
    let (Some(namespace), Some(pod), Some(sub)) = (&path.namespace, &path.name, &path.subresource)
    else {
        return Ok(None);
    };
    let allowed: &[&str] = match sub.as_str() {
        "log" => &["GET"],
        // WebSockets upgrade a GET; SPDY (kubectl's fallback) a POST.
        "exec" => &["GET", "POST"],
        _ => return Ok(None),
    };
    if !path.group.is_empty() || path.plural != "pods" {
        return Ok(None);
    }
    if !allowed.contains(&method) {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} pods/{sub})"
        )));
    }
    let kind = match sub.as_str() {
        "log" => StreamKind::Log(LogOptions {
            follow: params.flag("follow")?,
            previous: params.flag("previous")?,
            timestamps: params.flag("timestamps")?,
            tail_lines: params.int("tailLines")?,
            limit_bytes: params.int("limitBytes")?,
            since_seconds: params.int("sinceSeconds")?,
            since_time: Some(params.get("sinceTime").to_string()).filter(|t| !t.is_empty()),
        }),
        _ => StreamKind::Exec(ExecOptions {
            command: params.all("command"),
            stdin: params.flag("stdin")?,
            stdout: params.flag("stdout")?,
            stderr: params.flag("stderr")?,
            tty: params.flag("tty")?,
        }),
    };
    Ok(Some(StreamRequest {
        namespace: namespace.clone(),
        pod: pod.clone(),
        container: params.get("container").to_string(),
        kind,
    }))
}

/// The patch type a PATCH's Content-Type names (415 for any other, as kube answers).
fn patch_type(content_type: &str) -> Result<PatchType, ApiError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    match media {
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"),
        )),
    }
}

/// The query's parameters; the first value of a repeated name wins.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: &str) -> Query {
        Query(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a repeated name (exec's `command`), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean as Go's `strconv.ParseBool` reads it (kube's query conversion); absent
    /// is false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(ApiError::bad_request(format!(
                "invalid value for {name}: {other:?} is not a boolean"
            ))),
        }
    }

    /// An integer, or None when absent.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            "" => Ok(None),
            text => text.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value for {name}: {text:?} is not an integer"
                ))
            }),
        }
    }
}

/// Decodes `%XX` escapes of one path segment (invalid escapes stay as they are).
fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: &str, path: &str, query: &str) -> ApiRequest {
        match parse(method, path, query, "application/json").unwrap() {
            Route::Resource(call) => call.request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_name_the_resource_namespace_name_and_subresource() {
        let get = resource("GET", "/api/v1/namespaces/default/pods/web-1", "");
        assert_eq!(get.verb, Verb::Get);
        assert_eq!(get.path.namespace.as_deref(), Some("default"));
        assert_eq!(get.path.name.as_deref(), Some("web-1"));
        let scale = resource("PUT", "/apis/apps/v1/namespaces/a/deployments/d/scale", "");
        assert_eq!(
            (scale.verb, scale.path.group.as_str()),
            (Verb::Update, "apps")
        );
        assert_eq!(scale.path.subresource.as_deref(), Some("scale"));
        // The namespace object itself, and its status.
        let ns = resource("GET", "/api/v1/namespaces/kube-system", "");
        assert_eq!(ns.path.plural, "namespaces");
        assert_eq!(ns.path.namespace, None);
        let status = resource("PUT", "/api/v1/namespaces/x/status", "");
        assert_eq!(status.path.name.as_deref(), Some("x"));
        assert_eq!(status.path.subresource.as_deref(), Some("status"));
        let all = resource("GET", "/api/v1/pods", "labelSelector=app%3Dweb&limit=500");
        assert_eq!(all.verb, Verb::List);
        assert_eq!(all.list.label_selector, "app=web");
        assert_eq!(all.list.limit, 500);
        let watch = resource(
            "GET",
            "/api/v1/namespaces/d/pods",
            "watch=true&resourceVersion=7",
        );
        assert_eq!(watch.verb, Verb::Watch);
        assert_eq!(watch.list.resource_version, "7");
        let collection = resource(
            "DELETE",
            "/api/v1/namespaces/d/pods",
            "propagationPolicy=Foreground",
        );
        assert_eq!(collection.verb, Verb::DeleteCollection);
        assert_eq!(collection.delete.propagation, Some(Propagation::Foreground));
    }

    #[test]
    fn documents_and_unknown_paths() {
        assert_eq!(
            parse("GET", "/apis/apps/v1", "", "").unwrap(),
            Route::Document(Document::Resources {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert_eq!(
            parse("GET", "/version", "", "").unwrap(),
            Route::Document(Document::Version)
        );
        for bad in [
            "/",
            "/api/v1/widgets",
            "/apis/apps/v1/namespaces/a/b/c/d/e",
            "/apis/x/y/z",
        ] {
            assert_eq!(parse("GET", bad, "", "").unwrap_err().code, 404, "{bad}");
        }
        assert_eq!(parse("POST", "/api", "", "").unwrap_err().code, 405);
    }

    #[test]
    fn openapi_documents() {
        let document = |path: &str, query: &str| match parse("GET", path, query, "").unwrap() {
            Route::Document(document) => document,
            other => panic!("{other:?}"),
        };
        assert_eq!(document("/openapi/v2", ""), Document::OpenApiV2);
        assert_eq!(document("/openapi/v3", ""), Document::OpenApiV3Index);
        assert_eq!(
            document("/openapi/v3/api/v1", "hash=0A1B"),
            Document::OpenApiV3 {
                group: String::new(),
                version: "v1".into()
            }
        );
        assert_eq!(
            document("/openapi/v3/apis/rbac.authorization.k8s.io/v1/", ""),
            Document::OpenApiV3 {
                group: "rbac.authorization.k8s.io".into(),
                version: "v1".into()
            }
        );
        for bad in [
            "/openapi",
            "/openapi/v1",
            "/openapi/v3/apis/apps",
            "/openapi/v3/api",
        ] {
            assert_eq!(parse("GET", bad, "", "").unwrap_err().code, 404, "{bad}");
        }
        assert_eq!(parse("PUT", "/openapi/v2", "", "").unwrap_err().code, 405);
    }

    #[test]
    fn log_and_exec_become_streams() {
        let Route::Stream(log) = parse(
            "GET",
            "/api/v1/namespaces/d/pods/p1/log",
            "container=c&follow=true&tailLines=10&timestamps=1",
            "",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((log.namespace.as_str(), log.pod.as_str()), ("d", "p1"));
        assert_eq!(log.container, "c");
        let StreamKind::Log(options) = log.kind else {
            panic!()
        };
        assert!(options.follow && options.timestamps && !options.previous);
        assert_eq!(options.tail_lines, Some(10));
        let query = "command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&tty=false";
        let Route::Stream(exec) =
            parse("POST", "/api/v1/namespaces/d/pods/p1/exec", query, "").unwrap()
        else {
            panic!()
        };
        let StreamKind::Exec(options) = exec.kind else {
            panic!()
        };
        assert_eq!(options.command, ["sh", "-c", "echo hi"]);
        assert!(options.stdin && options.stdout && !options.stderr && !options.tty);
        let bad = parse("GET", "/api/v1/namespaces/d/pods/p1/log", "tailLines=x", "");
        assert_eq!(bad.unwrap_err().code, 400);
        let put = parse("PUT", "/api/v1/namespaces/d/pods/p1/exec", "", "");
        assert_eq!(put.unwrap_err().code, 405);
    }

    #[test]
    fn patches_take_their_type_from_the_content_type() {
        let path = "/api/v1/namespaces/d/configmaps/c";
        let merge = parse("PATCH", path, "", "application/merge-patch+json").unwrap();
        let Route::Resource(call) = merge else {
            panic!()
        };
        assert_eq!(call.request.verb, Verb::Patch(PatchType::Merge));
        assert_eq!(
            parse("PATCH", path, "", "text/plain").unwrap_err().code,
            415
        );
        assert_eq!(percent_decode("a%3Ab%zz%4"), "a:b%zz%4");
    }
}
