//! `apiserver_request_total` and `apiserver_request_duration_seconds`, labelled as
//! kube-apiserver labels them: the verb in capitals (`GET`, `LIST`, `WATCH`, `POST`, `PUT`,
//! `PATCH`, `APPLY`, `DELETE`, `DELETECOLLECTION`, `CONNECT`), the resource and
//! subresource, the HTTP code. Resources outside the registry are `other`, so a client
//! that asks for made-up paths cannot grow the label set.

use kactor_actors::gateway::streams::StreamKind;
use kactor_actors::gateway::Verb;
use kactor_kube::patch::PatchType;
use kactor_kube::registry::by_plural;

use super::route::Route;

/// The labels of one request, known once its route is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLabels {
    pub verb: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
}

/// The label for a resource or subresource name outside the registry.
const OTHER: &str = "other";

impl RequestLabels {
    /// A request not routed (refused before, or unparseable): its HTTP method only.
    pub fn unrouted(method: &str) -> RequestLabels {
        let verb = match method {
            "GET" | "HEAD" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            _ => OTHER,
        };
        RequestLabels {
            verb,
            resource: "",
            subresource: "",
        }
    }

    pub fn of(route: &Route) -> RequestLabels {
        match route {
            Route::Document(_) => RequestLabels::unrouted("GET"),
            Route::Stream(stream) => {
                let (verb, subresource) = match stream.kind {
                    StreamKind::Log(_) => ("GET", "log"),
                    StreamKind::Exec(_) => ("CONNECT", "exec"),
                };
                RequestLabels {
                    verb,
                    resource: "pods",
                    subresource,
                }
            }
            Route::Resource(call) => {
                let path = &call.request.path;
                let resource = by_plural(&path.group, &path.plural).map_or(OTHER, |r| r.plural);
                RequestLabels {
                    verb: verb_label(call.request.verb),
                    resource,
                    subresource: subresource_label(path.subresource.as_deref()),
                }
            }
        }
    }
}

fn verb_label(verb: Verb) -> &'static str {
    match verb {
        Verb::Get | Verb::GetPath => "GET",
        Verb::List => "LIST",
        Verb::Watch => "WATCH",
        Verb::Create => "POST",
        Verb::Update => "PUT",
        Verb::Patch(PatchType::Apply) => "APPLY",
        Verb::Patch(_) => "PATCH",
        Verb::Delete => "DELETE",
        Verb::DeleteCollection => "DELETECOLLECTION",
    }
}

/// The subresources kube serves; any other name is `other`.
fn subresource_label(subresource: Option<&str>) -> &'static str {
    const KNOWN: &[&str] = &[
        "status",
        "scale",
        "binding",
        "eviction",
        "log",
        "exec",
        "token",
        "approval",
        "ephemeralcontainers",
        "resize",
        "finalize",
        "proxy",
        "attach",
        "portforward",
    ];
    match subresource {
        None => "",
        Some(name) => KNOWN
            .iter()
            .find(|known| **known == name)
            .copied()
            .unwrap_or(OTHER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(RequestLabels::unrouted("BREW").verb, OTHER);
        assert_eq!(subresource_label(Some("made-up")), OTHER);
        assert_eq!(subresource_label(Some("status")), "status");
        assert_eq!(subresource_label(None), "");
        assert_eq!(verb_label(Verb::Patch(PatchType::Apply)), "APPLY");
        assert_eq!(verb_label(Verb::Patch(PatchType::Merge)), "PATCH");
    }
}
