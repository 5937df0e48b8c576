//! List and watch, served from the watch cache. A list or watch with resourceVersion ""
//! is consistent: the gateway first reads the store's revision through Raft, then waits
//! until the cache has reached it, so it never serves state older than a read that
//! completed before it (the class of Kubernetes #59848, where a kubelet saw a pod that
//! was already deleted).

use serde_json::Value;

use super::actor::{ClientWatch, Gateway};
use super::api::*;
use super::cache::{CacheChange, CacheGap, CachedObject, WatchCache};
use super::calls::{Call, Next, Step};
use super::object;
use crate::kernel::Outbox;
use crate::raft::ClientRequest;
use crate::store::{KeySpan, RangeRequest, RangeResponse, Revision, StoreQuery};
use kactor_kube::selector::{FieldSelector, LabelSelector};

/// The fields a field selector may name, beyond `metadata.name` and
/// `metadata.namespace` (kube-apiserver's per-kind field label conversions).
fn selectable_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Node" => &["spec.unschedulable"],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

/// A field's value as field selectors compare it: strings as they are, other scalars
/// printed, a missing field as "".
fn field_value(value: &Value, path: &str) -> String {
    let mut at = value;
    for part in path.split('.') {
        match at.get(part) {
            Some(next) => at = next,
            None => return String::new(),
        }
    }
    match at {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

struct Filter {
    prefix: Vec<u8>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn new(call: &Call) -> Result<Filter, ApiError> {
        let list = &call.request.list;
        let labels = LabelSelector::parse(&list.label_selector)
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(&list.field_selector)
            .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?;
        let allowed = selectable_fields(call.resource.kind);
        for requirement in fields.requirements() {
            let field = requirement.field();
            if !matches!(field, "metadata.name" | "metadata.namespace") && !allowed.contains(&field)
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
        }
        Ok(Filter {
            prefix: object::type_prefix(call.resource, call.namespace()),
            labels,
            fields,
        })
    }

    fn from_watch(watch: &ClientWatch) -> Filter {
        Filter {
            prefix: watch.prefix.clone(),
            labels: LabelSelector::parse(&watch.labels)
                .unwrap_or_else(|_| LabelSelector::nothing()),
            fields: FieldSelector::parse(&watch.fields).unwrap_or_default(),
        }
    }

    fn selects_all(&self) -> bool {
        self.labels.is_empty() && self.fields.requirements().is_empty()
    }

    fn matches(&self, key: &[u8], object: &CachedObject) -> bool {
        if !key.starts_with(&self.prefix) {
            return false;
        }
        if self.selects_all() {
            return true;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&object.json) else {
            return false;
        };
        self.labels.matches(&object::labels(&value))
            && self
                .fields
                .matches(&|field: &str| Some(field_value(&value, field)))
    }
}

/// The first step of list, watch and deletecollection.
pub(crate) fn begin_read(gateway: &Gateway, call: &mut Call) -> Result<Next, ApiError> {
    Filter::new(call)?;
    if gateway.feed_of(call.resource).is_none() {
        return Err(ApiError::method_not_allowed(format!(
            "{} has no watch cache on this gateway",
            call.resource.plural
        )));
    }
    let list = &call.request.list;
    if call.request.verb == Verb::List && !list.continue_token.is_empty() {
        let (revision, after) = decode_continue(&list.continue_token)?;
        return Ok(Next::Store(
            page_read(call, revision, &after),
            Step::ReadPage,
        ));
    }
    match list.resource_version.as_str() {
        "" => Ok(Next::Store(
            ClientRequest::Read(StoreQuery::Header),
            Step::ReadRevision,
        )),
        "0" => Ok(Next::Await(0)),
        text => {
            let revision: Revision = text
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?;
            if list.resource_version_match == "Exact" && call.request.verb == Verb::List {
                return Ok(Next::Store(page_read(call, revision, &[]), Step::ReadPage));
            }
            Ok(Next::Await(revision))
        }
    }
}

fn page_read(call: &Call, revision: Revision, after: &[u8]) -> ClientRequest<crate::store::Mvcc> {
    let prefix = object::type_prefix(call.resource, call.namespace());
    let end = object::prefix_end(&prefix);
    let start = if after.is_empty() {
        prefix
    } else {
        let mut next = after.to_vec();
        next.push(0);
        next
    };
    let limit = page_limit(call.request.list.limit);
    ClientRequest::Read(StoreQuery::Range(RangeRequest {
        span: KeySpan::Interval { start, end },
        revision,
        limit,
        count_only: false,
        keys_only: false,
    }))
}

fn page_limit(limit: u64) -> u64 {
    if limit == 0 {
        LIST_PAGE_OBJECTS_MAX
    } else {
        limit.min(LIST_PAGE_OBJECTS_MAX)
    }
}

/// Kubernetes' continue tokens are opaque to clients; ours is the list's revision and
/// the last key served, hex-encoded.
fn encode_continue(revision: Revision, last_key: &[u8]) -> String {
    let hex: String = last_key.iter().map(|b| format!("{b:02x}")).collect();
    format!("{revision}.{hex}")
}

fn decode_continue(token: &str) -> Result<(Revision, Vec<u8>), ApiError> {
    let invalid = || ApiError::bad_request(format!("invalid continue token {token:?}"));
    let (revision, hex) = token.split_once('.').ok_or_else(invalid)?;
    let revision: Revision = revision.parse().map_err(|_| invalid())?;
    if hex.len() % 2 != 0 || hex.len() > 2 * crate::store::KEY_BYTES_MAX {
        return Err(invalid());
    }
    let key = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    Ok((revision, key))
}

fn list_body(
    call: &Call,
    revision: Revision,
    items: &[&[u8]],
    continue_token: Option<String>,
) -> Vec<u8> {
    let mut metadata = serde_json::json!({"resourceVersion": revision.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = token.into();
    }
    let head = serde_json::json!({
        "kind": format!("{}List", call.resource.kind),
        "apiVersion": call.resource.api_version(),
        "metadata": metadata,
    });
    let mut body = object::to_bytes(&head);
    body.pop(); // the closing brace: items follow
    body.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"]}");
    body
}

impl Gateway {
    /// A call waiting for the cache: served once it has reached `revision`.
    pub(crate) fn serve_cached(
        &mut self,
        call: &mut Call,
        revision: Revision,
    ) -> Result<Next, ApiError> {
        let feed = self
            .feed_of(call.resource)
            .expect("checked when the call began");
        let cache = &self.feeds[feed].cache;
        if !cache.synced() || cache.revision() < revision {
            return Ok(Next::Await(revision));
        }
        let filter = Filter::new(call)?;
        match call.request.verb {
            Verb::List => list_from_cache(call, cache, &filter),
            Verb::Watch => {
                if self.watches.len() >= self.config.watches_max {
                    return Err(ApiError::too_many_requests("too many watches".into()));
                }
                let start = self.watch_start(call, cache)?;
                call.step = Step::AwaitCache { revision: start };
                Ok(Next::Done(ApiOutcome::Watching))
            }
            Verb::DeleteCollection => {
                let doomed: Vec<(&Vec<u8>, &CachedObject)> = cache
                    .objects(&filter.prefix, &[])
                    .filter(|(key, object)| filter.matches(key, object))
                    .collect();
                let items: Vec<&[u8]> = doomed.iter().map(|(_, o)| o.json.as_slice()).collect();
                let body = list_body(call, cache.revision(), &items, None);
                let type_prefix = object::type_prefix(call.resource, None);
                let names: Vec<String> = doomed
                    .iter()
                    .map(|(key, _)| String::from_utf8_lossy(&key[type_prefix.len()..]).to_string())
                    .collect();
                for path in names {
                    let mut request = ApiRequest::new(Verb::Delete, call.request.path.clone());
                    let (namespace, name) = match path.split_once('/') {
                        Some((namespace, name)) => (Some(namespace.to_string()), name.to_string()),
                        None => (None, path),
                    };
                    request.path.namespace = namespace;
                    request.path.name = Some(name);
                    request.delete = call.request.delete.clone();
                    self.deferred.push(request);
                }
                Ok(Next::Done(ApiOutcome::ok(200, body)))
            }
            _ => unreachable!("only reads wait for the cache"),
        }
    }

    /// Where a watch starts: the cache's revision for "" and "0" (after the initial
    /// events), or the revision asked for, if the cache still has what follows it.
    fn watch_start(&self, call: &Call, cache: &WatchCache) -> Result<Revision, ApiError> {
        match call.request.list.resource_version.as_str() {
            "" | "0" => Ok(cache.revision()),
            text => {
                let revision: Revision = text.parse().unwrap_or(0);
                match cache.changes_after(revision) {
                    Ok(_) => Ok(revision),
                    Err(CacheGap::Expired { oldest }) => Err(ApiError::expired(format!(
                        "too old resource version: {revision} ({oldest})"
                    ))),
                    Err(CacheGap::Ahead { .. }) => unreachable!("the cache has reached it"),
                }
            }
        }
    }

    /// Registers a watch whose call was answered `Watching`, and sends what it starts with.
    pub(crate) fn begin_watch(&mut self, call: Call, out: &mut Outbox<Self>) {
        let Step::AwaitCache { revision: start } = call.step else {
            unreachable!("a watch starts from the cache");
        };
        let feed = self
            .feed_of(call.resource)
            .expect("checked when the call began");
        let list = &call.request.list;
        let initial = matches!(list.resource_version.as_str(), "" | "0")
            && list.send_initial_events != Some(false);
        let watch = ClientWatch {
            feed,
            prefix: object::type_prefix(call.resource, call.namespace()),
            labels: list.label_selector.clone(),
            fields: list.field_selector.clone(),
            revision: start,
            sent: if initial { 0 } else { start },
            bookmarks: list.allow_watch_bookmarks,
            idle_ticks: 0,
        };
        if initial {
            let filter = Filter::from_watch(&watch);
            let cache = &self.feeds[feed].cache;
            let events: Vec<WatchEvent> = cache
                .objects(&filter.prefix, &[])
                .filter(|(key, object)| filter.matches(key, object))
                .map(|(_, object)| WatchEvent {
                    kind: WatchEventType::Added,
                    revision: object.mod_revision,
                    object: object.json.clone(),
                })
                .collect();
            // Sent even when empty: it tells the client where the stream stands.
            send_events(call.caller, 0, start, events, out);
        }
        let mut watch = watch;
        watch.sent = start;
        self.watches.insert(call.caller, watch);
        pump_watch(self, call.caller, out);
    }

    pub(crate) fn tick_watches(&mut self, out: &mut Outbox<Self>) {
        let bookmark_ticks = self.config.bookmark_ticks;
        let callers: Vec<Caller> = self.watches.keys().copied().collect();
        for caller in callers {
            let watch = self.watches.get_mut(&caller).expect("listed");
            watch.idle_ticks += 1;
            if !watch.bookmarks || watch.idle_ticks < bookmark_ticks {
                continue;
            }
            watch.idle_ticks = 0;
            let resource = self.feeds[watch.feed].resource;
            let revision = self.feeds[watch.feed].cache.revision();
            if watch.revision < revision {
                continue; // changes are on their way; the bookmark waits for them
            }
            let from_revision = watch.sent + 1;
            watch.sent = revision;
            let object = serde_json::json!({
                "kind": resource.kind,
                "apiVersion": resource.api_version(),
                "metadata": {"resourceVersion": revision.to_string()},
            });
            let bookmark = WatchEvent {
                kind: WatchEventType::Bookmark,
                revision,
                object: object::to_bytes(&object),
            };
            send_events(caller, from_revision, revision, vec![bookmark], out);
        }
    }
}

fn list_from_cache(call: &Call, cache: &WatchCache, filter: &Filter) -> Result<Next, ApiError> {
    let limit = page_limit(call.request.list.limit) as usize;
    let mut matching = cache
        .objects(&filter.prefix, &[])
        .filter(|(key, object)| filter.matches(key, object));
    let page: Vec<(&Vec<u8>, &CachedObject)> = matching.by_ref().take(limit).collect();
    let more = matching.next().is_some();
    let token = match (more, page.last()) {
        (true, Some((key, _))) => Some(encode_continue(cache.revision(), key)),
        _ => None,
    };
    let items: Vec<&[u8]> = page.iter().map(|(_, o)| o.json.as_slice()).collect();
    let body = list_body(call, cache.revision(), &items, token);
    Ok(Next::Done(ApiOutcome::ok(200, body)))
}

/// A list page read from the store (a continued list, or an exact revision).
pub(crate) fn page_from_store(
    gateway: &Gateway,
    call: &mut Call,
    range: RangeResponse,
) -> Result<Next, ApiError> {
    let filter = Filter::new(call)?;
    let revision = match decode_continue(&call.request.list.continue_token) {
        Ok((revision, _)) => revision,
        Err(_) => call
            .request
            .list
            .resource_version
            .parse()
            .unwrap_or(range.revision),
    };
    let mut items = Vec::new();
    for kv in &range.kvs {
        let object = gateway.decode(kv).map_err(ApiError::internal)?;
        if filter.matches(&kv.key, &object) {
            items.push(object.json);
        }
    }
    let token = match (range.more, range.kvs.last()) {
        (true, Some(last)) => Some(encode_continue(revision, &last.key)),
        _ => None,
    };
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    let body = list_body(call, revision, &refs, token);
    Ok(Next::Done(ApiOutcome::ok(200, body)))
}

/// One message of a watch, covering `from_revision..=revision`. A watch's events go in
/// one message per cache advance: the cache's window bounds it.
fn send_events(
    caller: Caller,
    from_revision: Revision,
    revision: Revision,
    events: Vec<WatchEvent>,
    out: &mut Outbox<Gateway>,
) {
    // An idle bookmark covers the empty span after `revision`.
    assert!(from_revision <= revision + 1, "an inverted span");
    assert!(
        events.iter().all(|e| e.revision <= revision),
        "an event past its span"
    );
    let msg = super::actor::GatewayMsg::WatchEvents {
        id: caller.1,
        from_revision,
        revision,
        events,
    };
    out.send(caller.0, msg);
}

/// The event a change makes for one watch, given what its filter selects.
fn event_for(filter: &Filter, change: &CacheChange) -> Option<WatchEvent> {
    let now = change
        .object
        .as_ref()
        .map(|o| filter.matches(&change.key, o));
    let before = change.prev.as_ref().map(|o| filter.matches(&change.key, o));
    let (kind, object) = match (now, before) {
        (Some(true), Some(true)) => (
            WatchEventType::Modified,
            change.object.as_ref()?.json.clone(),
        ),
        (Some(true), _) => (WatchEventType::Added, change.object.as_ref()?.json.clone()),
        // Left the selection: a delete for this watcher, carrying the object as it is now.
        (Some(false), Some(true)) => (
            WatchEventType::Deleted,
            change.object.as_ref()?.json.clone(),
        ),
        (None, Some(true)) => {
            let prev: Value = serde_json::from_slice(&change.prev.as_ref()?.json).ok()?;
            let gone = object::with_revision(prev, change.revision);
            (WatchEventType::Deleted, object::to_bytes(&gone))
        }
        _ => return None,
    };
    Some(WatchEvent {
        kind,
        revision: change.revision,
        object,
    })
}

fn pump_watch(gateway: &mut Gateway, caller: Caller, out: &mut Outbox<Gateway>) {
    let Some(watch) = gateway.watches.get(&caller) else {
        return;
    };
    let cache = &gateway.feeds[watch.feed].cache;
    let filter = Filter::from_watch(watch);
    let events: Vec<WatchEvent> = match cache.changes_after(watch.revision) {
        Ok(changes) => changes.filter_map(|c| event_for(&filter, c)).collect(),
        Err(CacheGap::Ahead { .. }) => return,
        Err(CacheGap::Expired { oldest }) => {
            gateway.watches.remove(&caller);
            let error = ApiError::expired(format!("too old resource version ({oldest})"));
            out.send(
                caller.0,
                super::actor::GatewayMsg::WatchEnded {
                    id: caller.1,
                    error: Some(error),
                },
            );
            return;
        }
    };
    let revision = cache.revision();
    let watch = gateway.watches.get_mut(&caller).expect("present");
    watch.revision = revision;
    if !events.is_empty() {
        watch.idle_ticks = 0;
        let from_revision = watch.sent + 1;
        watch.sent = revision;
        send_events(caller, from_revision, revision, events, out);
    }
    assert!(watch.sent <= watch.revision);
}

/// Sends every watch on `feed` what the cache gained.
pub(crate) fn pump_watches(gateway: &mut Gateway, feed: usize, out: &mut Outbox<Gateway>) {
    let callers: Vec<Caller> = gateway
        .watches
        .iter()
        .filter(|(_, w)| w.feed == feed)
        .map(|(caller, _)| *caller)
        .collect();
    for caller in callers {
        pump_watch(gateway, caller, out);
    }
}
