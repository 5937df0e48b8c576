//! The gateway's client, for components and tools: API calls over the mesh, typed by
//! `k8s-openapi`'s resource types, and an informer (list, then watch; relist on 410; a
//! shared cache; event handlers; resync) in client-go's shape. The rule controllers
//! follow: the cache answers only once it has synced ([`NotSynced`] before).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use kactor_actors::gateway::streams::{
    StreamFrame, StreamId, StreamMsg, StreamRequest, StreamStatus,
};
use kactor_actors::gateway::{
    ApiError, ApiOutcome, ApiRequest, ApiRequestId, DeleteOptions, GatewayMsg, ListOptions,
    Requester, ResourcePath, Stamp, User, Verb, WatchEvent, WatchEventType,
};
use kactor_actors::kernel::NodeId;
use kactor_actors::watcher::{WatchEnding, Watcher, WatcherAction, WatcherInput, WatcherLimits};
use kactor_kube::k8s_openapi::{apimachinery::pkg::apis::meta::v1::ObjectMeta, Metadata, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::codec;
use crate::gateway_host::LocalLink;
use crate::mesh::{Inbound, Mesh};
use crate::pki::NodeIdentity;
use crate::streams::{self, Leg, Ports, StreamPort};
use crate::sync::{lock, Mutex};

/// How long a call waits for its answer: kube-apiserver's request timeout.
pub const CALL_MS_MAX: u64 = 60_000;
/// Watch messages queued for a consumer; past it the watch ends (the consumer relists),
/// as kube-apiserver ends a watcher that cannot keep up.
pub const WATCH_QUEUE_MESSAGES_MAX: usize = 1024;
/// Pause before an informer relists or re-watches after a failure; it doubles while
/// attempts bring nothing.
pub const INFORMER_RETRY_MS: u64 = 500;
/// Informer pauses stop doubling here (client-go's reflector: about 30 s).
pub const INFORMER_RETRY_MS_MAX: u64 = 30_000;
/// A watch silent this long is taken for dead and resumed: more than the gateway's
/// bookmark period (a minute), as a connection's idle timeout would.
pub const INFORMER_WATCH_SILENCE_MS_MAX: u64 = 90_000;
/// How long opening a stream may take: past the gateway's own wait for the kubelet
/// (`GatewayConfig::stream_start_ticks_max`, 30 s), whose answer normally comes first.
pub const STREAM_OPEN_MS_MAX: u64 = 35_000;

type Waiters = Arc<Mutex<HashMap<ApiRequestId, oneshot::Sender<ApiOutcome>>>>;
type Watches = Arc<Mutex<HashMap<ApiRequestId, mpsc::Sender<WatchMessage>>>>;
/// Streams waiting for `Opened` (or the `End` that refuses them).
type Opening = Arc<Mutex<HashMap<StreamId, oneshot::Sender<Result<(), StreamStatus>>>>>;

/// Where the gateway's answers go: call waiters, watch queues, stream ports.
#[derive(Clone, Default)]
struct Routes {
    waiters: Waiters,
    watches: Watches,
    opening: Opening,
    ports: Ports,
}

/// The key of a caller's stream port: a client talks to one gateway.
const CALLER_PORT_GATEWAY: NodeId = 0;

/// What a watch stream carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchMessage {
    /// Every matching change of `from_revision..=revision` (see `GatewayMsg::WatchEvents`).
    Events {
        from_revision: u64,
        revision: u64,
        events: Vec<WatchEvent>,
    },
    /// The stream is over: `None` when it timed out (re-watch from the last revision),
    /// an error (410: relist) otherwise.
    Ended(Option<ApiError>),
}

#[derive(Clone)]
pub struct GatewayClient {
    link: Link,
    next: Arc<Mutex<ApiRequestId>>,
    routes: Routes,
}

/// How requests reach the gateway.
#[derive(Clone)]
pub(crate) enum Link {
    /// Over the mesh: the gateway's host sets the user from our certificate.
    Mesh { mesh: Mesh, gateway: NodeId },
    /// In process (the HTTPS front): the caller names the user it authenticated.
    Local(mpsc::Sender<GatewayMsg>),
}

impl Link {
    pub(crate) fn transmit(&self, msg: GatewayMsg) -> anyhow::Result<()> {
        match self {
            Link::Mesh { mesh, gateway } => mesh
                .send(*gateway, codec::encode(&msg)?)
                .map_err(|e| anyhow!("cannot reach the gateway: {e:?}")),
            Link::Local(requests) => requests
                .try_send(msg)
                .map_err(|e| anyhow!("the gateway is not taking requests: {e}")),
        }
    }

    /// The user a message names: over the mesh the gateway's host sets it from our
    /// certificate; in process the caller says whom it authenticated.
    fn user(&self, user: Requester) -> Requester {
        match self {
            Link::Mesh { .. } => Requester::default(),
            Link::Local(_) => user,
        }
    }
}

/// The URL path of a `k8s-openapi` resource type.
pub fn path_of<K: Resource>(namespace: Option<&str>, name: Option<&str>) -> ResourcePath {
    ResourcePath {
        group: K::GROUP.to_string(),
        plural: K::URL_PATH_SEGMENT.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: None,
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::internal(format!("undecodable answer from the gateway: {e}")))
}

impl GatewayClient {
    /// Binds a client endpoint on loopback and points it at the gateway.
    pub async fn connect(
        identity: NodeIdentity,
        gateway: NodeId,
        addr: SocketAddr,
    ) -> anyhow::Result<GatewayClient> {
        let (mesh, inbound) = Mesh::bind_client(identity, gateway, addr).await?;
        let client = GatewayClient::over(Link::Mesh { mesh, gateway });
        tokio::spawn(decode_frames(inbound, client.routes.clone()));
        Ok(client)
    }

    /// A client of the gateway in this process, through its host's local link. Each
    /// request names its (already authenticated) user: see [`GatewayClient::request_as`].
    pub fn local(link: LocalLink) -> GatewayClient {
        let client = GatewayClient::over(Link::Local(link.requests));
        let routes = client.routes.clone();
        let mut answers = link.answers;
        tokio::spawn(async move {
            while let Some(msg) = answers.recv().await {
                route(msg, &routes);
            }
        });
        client
    }

    fn over(link: Link) -> GatewayClient {
        GatewayClient {
            link,
            next: Arc::new(Mutex::new(0)),
            routes: Routes::default(),
        }
    }

    fn next_id(&self) -> ApiRequestId {
        let mut next = lock(&self.next);
        *next += 1;
        *next
    }

    fn send(&self, id: ApiRequestId, request: ApiRequest, user: Requester) -> anyhow::Result<()> {
        // Either host stamps when the request arrived.
        self.transmit(GatewayMsg::Request {
            id,
            request,
            user: self.link.user(user),
            stamp: Stamp::default(),
        })
    }

    fn transmit(&self, msg: GatewayMsg) -> anyhow::Result<()> {
        self.link.transmit(msg)
    }

    /// Sends one request and waits for its outcome.
    pub async fn request(&self, request: ApiRequest) -> anyhow::Result<ApiOutcome> {
        self.request_as(User::default(), request).await
    }

    /// `request`, on behalf of `user` (a local client only; over the mesh the
    /// certificate decides).
    pub async fn request_as(
        &self,
        user: impl Into<Requester>,
        request: ApiRequest,
    ) -> anyhow::Result<ApiOutcome> {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id();
        lock(&self.routes.waiters).insert(id, tx);
        if let Err(e) = self.send(id, request, user.into()) {
            lock(&self.routes.waiters).remove(&id);
            return Err(e);
        }
        let waited = tokio::time::timeout(Duration::from_millis(CALL_MS_MAX), rx).await;
        lock(&self.routes.waiters).remove(&id);
        match waited {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(anyhow!("client shut down")),
            Err(_) => Err(anyhow!(
                "no answer from the gateway within {CALL_MS_MAX} ms"
            )),
        }
    }

    /// One call, as JSON: the status code and body, or the Kubernetes error.
    pub async fn call(&self, request: ApiRequest) -> Result<(u16, Vec<u8>), ApiError> {
        self.call_as(User::default(), request).await
    }

    /// `call`, on behalf of `user` (see `request_as`).
    pub async fn call_as(
        &self,
        user: impl Into<Requester>,
        request: ApiRequest,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        match self.request_as(user, request).await {
            Ok(ApiOutcome::Ok { code, body, .. }) => Ok((code, body)),
            Ok(ApiOutcome::Err(error)) => Err(error),
            Ok(ApiOutcome::Watching) => {
                Err(ApiError::internal("a call answered as a watch".into()))
            }
            Err(e) => Err(ApiError::unavailable(e.to_string())),
        }
    }

    pub async fn get<K: Resource + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<K, ApiError> {
        let request = ApiRequest::new(Verb::Get, path_of::<K>(namespace, Some(name)));
        decode(&self.call(request).await?.1)
    }

    pub async fn create<K: Resource + Serialize + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        object: &K,
    ) -> Result<K, ApiError> {
        let mut request = ApiRequest::new(Verb::Create, path_of::<K>(namespace, None));
        request.body =
            serde_json::to_vec(object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        decode(&self.call(request).await?.1)
    }

    /// Replaces the object; its `resourceVersion` makes the write conditional (409 if
    /// someone wrote in between).
    pub async fn update<K>(&self, object: &K) -> Result<K, ApiError>
    where
        K: Resource + Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned,
    {
        let meta = object.metadata();
        let name = meta.name.as_deref().unwrap_or("");
        let mut request = ApiRequest::new(
            Verb::Update,
            path_of::<K>(meta.namespace.as_deref(), Some(name)),
        );
        request.body =
            serde_json::to_vec(object).map_err(|e| ApiError::bad_request(e.to_string()))?;
        decode(&self.call(request).await?.1)
    }

    pub async fn delete<K: Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
        options: DeleteOptions,
    ) -> Result<(), ApiError> {
        let mut request = ApiRequest::new(Verb::Delete, path_of::<K>(namespace, Some(name)));
        request.delete = options;
        self.call(request).await.map(|_| ())
    }

    /// One page of a list: the items and the list's metadata.
    pub async fn list<K: Resource + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        options: ListOptions,
    ) -> Result<(Vec<K>, String), ApiError> {
        let mut request = ApiRequest::new(Verb::List, path_of::<K>(namespace, None));
        request.list = options;
        let list: serde_json::Value = decode(&self.call(request).await?.1)?;
        let revision = list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let items = serde_json::from_value(list["items"].clone())
            .map_err(|e| ApiError::internal(format!("undecodable list item: {e}")))?;
        Ok((items, revision))
    }

    /// Starts a watch; its messages arrive on the stream.
    pub async fn watch(&self, request: ApiRequest) -> Result<WatchStream, ApiError> {
        self.watch_as(User::default(), request).await
    }

    /// `watch`, on behalf of `user` (see `request_as`).
    pub async fn watch_as(
        &self,
        user: impl Into<Requester>,
        request: ApiRequest,
    ) -> Result<WatchStream, ApiError> {
        assert_eq!(request.verb, Verb::Watch, "a watch request");
        let (tx, rx) = mpsc::channel(WATCH_QUEUE_MESSAGES_MAX);
        let (answer_tx, answer_rx) = oneshot::channel();
        let id = self.next_id();
        lock(&self.routes.waiters).insert(id, answer_tx);
        lock(&self.routes.watches).insert(id, tx);
        if let Err(e) = self.send(id, request, user.into()) {
            lock(&self.routes.waiters).remove(&id);
            lock(&self.routes.watches).remove(&id);
            return Err(ApiError::unavailable(e.to_string()));
        }
        let answer = tokio::time::timeout(Duration::from_millis(CALL_MS_MAX), answer_rx).await;
        lock(&self.routes.waiters).remove(&id);
        match answer {
            Ok(Ok(ApiOutcome::Watching)) => Ok(WatchStream {
                id,
                messages: rx,
                client: self.clone(),
            }),
            Ok(Ok(ApiOutcome::Err(error))) => {
                lock(&self.routes.watches).remove(&id);
                Err(error)
            }
            other => {
                lock(&self.routes.watches).remove(&id);
                Err(ApiError::unavailable(format!(
                    "watch not established: {other:?}"
                )))
            }
        }
    }
}

impl GatewayClient {
    /// Opens a log or exec stream on behalf of `user` (see `request_as`): the port once
    /// the kubelet took it, or why not (Forbidden, NotFound, no kubelet, ...).
    pub async fn open_stream(
        &self,
        user: impl Into<Requester>,
        request: StreamRequest,
    ) -> Result<StreamPort, ApiError> {
        let port = self.open_inner(user, request, false).await?;
        Ok(port.expect("a stream that is not a dry run opens a port"))
    }

    /// Whether the gateway would open the stream, without starting it on the kubelet.
    pub async fn check_stream(
        &self,
        user: impl Into<Requester>,
        request: StreamRequest,
    ) -> Result<(), ApiError> {
        self.open_inner(user, request, true).await.map(|_| ())
    }

    async fn open_inner(
        &self,
        user: impl Into<Requester>,
        request: StreamRequest,
        dry_run: bool,
    ) -> Result<Option<StreamPort>, ApiError> {
        let id = self.next_id();
        let registration = streams::register(&self.routes.ports, (CALLER_PORT_GATEWAY, id));
        let (tx, rx) = oneshot::channel();
        lock(&self.routes.opening).insert(id, tx);
        // Made now, so that any way out of here unregisters it (and cancels the stream).
        let mut port = StreamPort::new(
            Leg::Caller,
            self.link.clone(),
            registration,
            self.routes.ports.clone(),
            true,
        );
        let open = StreamMsg::Open {
            id,
            user: self.link.user(user.into()),
            request,
            dry_run,
        };
        let sent = self.transmit(GatewayMsg::Stream(open));
        let answer = match sent {
            Ok(()) => tokio::time::timeout(Duration::from_millis(STREAM_OPEN_MS_MAX), rx).await,
            Err(e) => Ok(Ok(Err(StreamStatus::Failed(ApiError::unavailable(
                e.to_string(),
            ))))),
        };
        lock(&self.routes.opening).remove(&id);
        match answer {
            Ok(Ok(Ok(()))) => Ok(Some(port)),
            Ok(Ok(Err(status))) => {
                port.mark_ended(); // the gateway has forgotten it already
                match status {
                    StreamStatus::Success if dry_run => Ok(None),
                    StreamStatus::Failed(error) => Err(error),
                    other => Err(ApiError::internal(format!(
                        "the stream ended at once: {other:?}"
                    ))),
                }
            }
            Ok(Err(_)) => Err(ApiError::internal("client shut down".into())),
            Err(_) => Err(ApiError::new(
                504,
                "Timeout",
                format!("the stream did not open within {STREAM_OPEN_MS_MAX} ms"),
            )),
        }
    }
}

/// A watch's messages. Dropping it cancels the watch at the gateway.
pub struct WatchStream {
    id: ApiRequestId,
    messages: mpsc::Receiver<WatchMessage>,
    client: GatewayClient,
}

impl WatchStream {
    /// The next message; None once the stream has ended and been drained.
    pub async fn recv(&mut self) -> Option<WatchMessage> {
        self.messages.recv().await
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        if lock(&self.client.routes.watches).remove(&self.id).is_some() {
            // Still running at the gateway: stop it there too. Best effort: a lost
            // cancel leaves the gateway's own watch timeout to end it.
            let _ = self
                .client
                .transmit(GatewayMsg::WatchCancel { id: self.id });
        }
    }
}

/// Decodes the gateway's frames and routes them.
async fn decode_frames(mut inbound: mpsc::Receiver<Inbound>, routes: Routes) {
    while let Some(Inbound { from, frame, .. }) = inbound.recv().await {
        match codec::decode(&frame) {
            Ok(msg) => route(msg, &routes),
            Err(e) => debug!(from, error = %e, "undecodable frame from the gateway"),
        }
    }
}

/// Routes a stream message: an answer to an open, or a frame for a port.
fn route_stream(msg: StreamMsg, routes: &Routes) {
    match msg {
        StreamMsg::Opened { id } => {
            if let Some(waiter) = lock(&routes.opening).remove(&id) {
                let _ = waiter.send(Ok(()));
            }
        }
        StreamMsg::Caller { id, frame } => {
            let refusal = match frame {
                StreamFrame::End { status } => match lock(&routes.opening).remove(&id) {
                    Some(waiter) => Some((waiter, status)),
                    None => {
                        let end = StreamFrame::End { status };
                        streams::route_frame(&routes.ports, (CALLER_PORT_GATEWAY, id), end);
                        None
                    }
                },
                frame => {
                    streams::route_frame(&routes.ports, (CALLER_PORT_GATEWAY, id), frame);
                    None
                }
            };
            if let Some((waiter, status)) = refusal {
                let _ = waiter.send(Err(status));
            }
        }
        other => debug!(
            kind = other.kind(),
            "a stream message a caller does not take"
        ),
    }
}

/// Routes one of the gateway's answers or watch messages to its waiter.
fn route(msg: GatewayMsg, routes: &Routes) {
    let (waiters, watches) = (&routes.waiters, &routes.watches);
    match msg {
        GatewayMsg::Stream(msg) => route_stream(msg, routes),
        GatewayMsg::Response { id, outcome } => {
            if let Some(waiter) = lock(waiters).remove(&id) {
                let _ = waiter.send(outcome);
            }
        }
        GatewayMsg::WatchEvents {
            id,
            from_revision,
            revision,
            events,
        } => {
            let mut watches = lock(watches);
            let message = WatchMessage::Events {
                from_revision,
                revision,
                events,
            };
            let full = watches
                .get(&id)
                .is_some_and(|queue| queue.try_send(message).is_err());
            if full {
                // A consumer this far behind loses the stream, as over a broken
                // connection (it ends once drained): it watches again from the last
                // revision it has, and the gateway decides whether that is still served
                // or answers 410. The gateway's side ends at its watch timeout.
                watches.remove(&id);
            }
        }
        GatewayMsg::WatchEnded { id, error } => {
            if let Some(queue) = lock(watches).remove(&id) {
                let _ = queue.try_send(WatchMessage::Ended(error));
            }
        }
        _ => {}
    }
}

/// What an informer tells its handler.
#[derive(Clone, Debug)]
pub enum InformerEvent<K> {
    Added(Arc<K>),
    Updated {
        old: Arc<K>,
        new: Arc<K>,
    },
    Deleted(Arc<K>),
    /// The periodic resync: every cached object again.
    Resync(Arc<K>),
}

/// The cache answered before its first list was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotSynced;

pub type Handler<K> = Arc<dyn Fn(InformerEvent<K>) + Send + Sync>;

/// The informer's cache: one writer (the informer task), many readers. A relist swaps
/// the whole map in at once, so readers never see half a list.
pub struct InformerStore<K> {
    state: Mutex<StoreState<K>>,
}

struct StoreState<K> {
    objects: BTreeMap<String, Arc<K>>,
    synced: bool,
    revision: String,
}

impl<K> Default for InformerStore<K> {
    fn default() -> Self {
        InformerStore {
            state: Mutex::new(StoreState {
                objects: BTreeMap::new(),
                synced: false,
                revision: String::new(),
            }),
        }
    }
}

impl<K> InformerStore<K> {
    /// Swaps in a whole list and marks the cache synced; returns the objects it replaced.
    pub fn replace(
        &self,
        objects: BTreeMap<String, Arc<K>>,
        revision: String,
    ) -> BTreeMap<String, Arc<K>> {
        let mut state = lock(&self.state);
        state.synced = true;
        state.revision = revision;
        std::mem::replace(&mut state.objects, objects)
    }

    /// Applies one change; returns the object it replaced.
    pub fn apply(&self, key: String, object: Option<Arc<K>>, revision: String) -> Option<Arc<K>> {
        let mut state = lock(&self.state);
        assert!(state.synced, "a watch event before the list");
        state.revision = revision;
        match object {
            Some(object) => state.objects.insert(key, object),
            None => state.objects.remove(&key),
        }
    }

    /// Nothing changed up to `revision` (a bookmark): a re-watch starts there.
    pub fn advance(&self, revision: String) {
        lock(&self.state).revision = revision;
    }

    pub fn list(&self) -> Result<Vec<Arc<K>>, NotSynced> {
        let state = lock(&self.state);
        if !state.synced {
            return Err(NotSynced);
        }
        Ok(state.objects.values().cloned().collect())
    }

    pub fn get(&self, key: &str) -> Result<Option<Arc<K>>, NotSynced> {
        let state = lock(&self.state);
        if !state.synced {
            return Err(NotSynced);
        }
        Ok(state.objects.get(key).cloned())
    }

    pub fn has_synced(&self) -> bool {
        lock(&self.state).synced
    }

    pub fn revision(&self) -> String {
        lock(&self.state).revision.clone()
    }
}

/// `namespace/name`, or `name` for cluster-scoped objects: the cache key.
pub fn cache_key(meta: &ObjectMeta) -> String {
    match &meta.namespace {
        Some(namespace) if !namespace.is_empty() => {
            format!("{namespace}/{}", meta.name.as_deref().unwrap_or(""))
        }
        _ => meta.name.clone().unwrap_or_default(),
    }
}

/// A list-then-watch cache of one resource type, kept current by a background task.
pub struct Informer<K> {
    pub store: Arc<InformerStore<K>>,
    task: tokio::task::JoinHandle<()>,
}

impl<K> Drop for Informer<K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<K> Informer<K>
where
    K: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned + Send + Sync + 'static,
{
    /// Starts informing on `namespace` (all namespaces when `None`).
    pub fn start(
        client: GatewayClient,
        namespace: Option<String>,
        handler: Handler<K>,
        resync: Option<Duration>,
    ) -> Informer<K> {
        let store = Arc::new(InformerStore::default());
        let task = tokio::spawn(run_informer(
            client,
            namespace,
            store.clone(),
            handler,
            resync,
        ));
        Informer { store, task }
    }

    /// Waits until the first list is in.
    pub async fn wait_synced(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        while !self.store.has_synced() {
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!("the informer did not sync within {within:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

fn keyed<K: Metadata<Ty = ObjectMeta>>(items: Vec<K>) -> BTreeMap<String, Arc<K>> {
    items
        .into_iter()
        .map(|item| (cache_key(item.metadata()), Arc::new(item)))
        .collect()
}

/// The informer's watcher: it lists, so an expired revision relists; it never gives up
/// (client-go's reflector backs off between attempts up to about 30 s).
const INFORMER_WATCHER_LIMITS: WatcherLimits = WatcherLimits {
    resumes_max: u32::MAX,
    pause_ms_min: INFORMER_RETRY_MS,
    pause_ms_max: INFORMER_RETRY_MS_MAX,
    can_list: true,
};

/// Runs the shared [`Watcher`]: it decides when to list, watch, resume or relist; this
/// does the calls and keeps the store and the handlers in step.
async fn run_informer<K>(
    client: GatewayClient,
    namespace: Option<String>,
    store: Arc<InformerStore<K>>,
    handler: Handler<K>,
    resync: Option<Duration>,
) where
    K: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned + Send + Sync + 'static,
{
    let (mut watcher, mut action) = Watcher::start(INFORMER_WATCHER_LIMITS, None);
    let mut next_resync = resync.map(|every| tokio::time::Instant::now() + every);
    loop {
        action = match action {
            WatcherAction::List => {
                let listed = client
                    .list::<K>(namespace.as_deref(), ListOptions::default())
                    .await;
                match listed {
                    Ok((items, revision)) => match revision.parse() {
                        Ok(at) => {
                            replace_listed(&store, &handler, items, revision);
                            watcher.step(WatcherInput::Listed { revision: at })
                        }
                        Err(_) => watcher.step(WatcherInput::Failed),
                    },
                    Err(error) => {
                        debug!(?error, "informer list failed");
                        watcher.step(WatcherInput::Failed)
                    }
                }
            }
            WatcherAction::Watch { after } => {
                let mut request =
                    ApiRequest::new(Verb::Watch, path_of::<K>(namespace.as_deref(), None));
                request.list.resource_version = after.unwrap_or(0).to_string();
                request.list.allow_watch_bookmarks = true;
                match client.watch(request).await {
                    Ok(mut stream) => {
                        let follow = InformerFollow {
                            store: &store,
                            handler: &handler,
                            resync,
                            next_resync: &mut next_resync,
                        };
                        follow.run(&mut watcher, &mut stream).await
                    }
                    Err(error) if error.code == 410 => {
                        watcher.step(WatcherInput::Ended(WatchEnding::Expired))
                    }
                    Err(_) => watcher.step(WatcherInput::Failed),
                }
            }
            WatcherAction::Pause { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                watcher.step(WatcherInput::PauseOver)
            }
            WatcherAction::End { reason } => {
                debug!(?reason, "informer stops");
                return;
            }
            WatcherAction::Accept | WatcherAction::Skip => {
                unreachable!("deliveries are handled while following the watch")
            }
        };
    }
}

/// Replaces the store with a list, and tells the handlers what changed.
fn replace_listed<K>(
    store: &InformerStore<K>,
    handler: &Handler<K>,
    items: Vec<K>,
    revision: String,
) where
    K: Metadata<Ty = ObjectMeta>,
{
    let fresh = keyed(items);
    let old = store.replace(fresh.clone(), revision);
    for (key, object) in &fresh {
        match old.get(key) {
            Some(before) => handler(InformerEvent::Updated {
                old: before.clone(),
                new: object.clone(),
            }),
            None => handler(InformerEvent::Added(object.clone())),
        }
    }
    for (key, object) in old {
        if !fresh.contains_key(&key) {
            handler(InformerEvent::Deleted(object));
        }
    }
}

struct InformerFollow<'a, K> {
    store: &'a InformerStore<K>,
    handler: &'a Handler<K>,
    resync: Option<Duration>,
    next_resync: &'a mut Option<tokio::time::Instant>,
}

impl<K> InformerFollow<'_, K>
where
    K: Resource + Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    /// Follows one watch, applying what the watcher accepts (and resyncing on time),
    /// until the watcher decides something else.
    async fn run(self, watcher: &mut Watcher, stream: &mut WatchStream) -> WatcherAction {
        let silence = Duration::from_millis(INFORMER_WATCH_SILENCE_MS_MAX);
        loop {
            let resync_at = self
                .next_resync
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            let message = tokio::select! {
                message = tokio::time::timeout(silence, stream.recv()) => message,
                _ = tokio::time::sleep_until(resync_at) => {
                    for object in self.store.list().unwrap_or_default() {
                        (self.handler)(InformerEvent::Resync(object));
                    }
                    *self.next_resync = self.resync.map(|every| tokio::time::Instant::now() + every);
                    continue;
                }
            };
            let input = match message {
                Err(_) => WatcherInput::Silent,
                Ok(Some(WatchMessage::Events {
                    from_revision,
                    revision,
                    events,
                })) => match watcher.step(WatcherInput::Span {
                    first: from_revision,
                    last: revision,
                }) {
                    WatcherAction::Accept => {
                        for event in events {
                            apply_event(self.store, self.handler, event);
                        }
                        self.store.advance(revision.to_string());
                        continue;
                    }
                    WatcherAction::Skip => continue,
                    next => return next,
                },
                Ok(Some(WatchMessage::Ended(None))) => WatcherInput::Ended(WatchEnding::Resumable),
                Ok(Some(WatchMessage::Ended(Some(error)))) if error.code == 410 => {
                    WatcherInput::Ended(WatchEnding::Expired)
                }
                Ok(Some(WatchMessage::Ended(Some(_)))) | Ok(None) => WatcherInput::Failed,
            };
            return watcher.step(input);
        }
    }
}

fn apply_event<K>(store: &InformerStore<K>, handler: &Handler<K>, event: WatchEvent)
where
    K: Metadata<Ty = ObjectMeta> + DeserializeOwned,
{
    let revision = event.revision.to_string();
    if event.kind == WatchEventType::Bookmark {
        return store.advance(revision);
    }
    let Ok(object) = serde_json::from_slice::<K>(&event.object) else {
        debug!("undecodable watch event skipped");
        return;
    };
    let key = cache_key(object.metadata());
    let object = Arc::new(object);
    match event.kind {
        WatchEventType::Deleted => {
            if let Some(gone) = store.apply(key, None, revision) {
                handler(InformerEvent::Deleted(gone));
            }
        }
        _ => match store.apply(key, Some(object.clone()), revision) {
            Some(old) => handler(InformerEvent::Updated { old, new: object }),
            None => handler(InformerEvent::Added(object)),
        },
    }
}

#[cfg(all(test, kactor_loom))]
mod loom_tests {
    //! The informer's cache under loom: a reader never sees the cache synced without the
    //! whole list in it; a relist that fills the cache item by item is caught.
    use super::*;
    use crate::sync::thread;

    type Writer = fn(&InformerStore<u32>, BTreeMap<String, Arc<u32>>);

    fn scenario(relist: Writer) {
        loom::model(move || {
            let store: Arc<InformerStore<u32>> = Arc::new(InformerStore::default());
            let writer = {
                let store = store.clone();
                thread::spawn(move || {
                    let list = BTreeMap::from([
                        ("a".to_string(), Arc::new(1)),
                        ("b".to_string(), Arc::new(2)),
                    ]);
                    relist(&store, list);
                    store.apply("c".into(), Some(Arc::new(3)), "6".into());
                })
            };
            match store.list() {
                Err(NotSynced) => {}
                Ok(objects) => assert!(objects.len() >= 2, "a synced cache without its list"),
            }
            writer.join().expect("writer");
            assert_eq!(store.list().expect("synced").len(), 3);
        });
    }

    #[test]
    fn a_synced_cache_holds_the_whole_list() {
        scenario(|store, list| {
            store.replace(list, "5".into());
        });
    }

    #[test]
    fn a_relist_that_fills_item_by_item_is_caught() {
        let caught = std::panic::catch_unwind(|| {
            scenario(|store, list| {
                store.replace(BTreeMap::new(), "5".into());
                for (key, object) in list {
                    store.apply(key, Some(object), "5".into());
                }
            })
        });
        let payload = caught.expect_err("loom must find the half-filled cache");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(
            message.contains("a synced cache without its list"),
            "{message}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_refuses_reads_until_synced_and_swaps_lists_whole() {
        let store: InformerStore<u32> = InformerStore::default();
        assert_eq!(store.list(), Err(NotSynced));
        assert_eq!(store.get("a"), Err(NotSynced));
        let old = store.replace(BTreeMap::from([("a".to_string(), Arc::new(1))]), "3".into());
        assert!(old.is_empty());
        assert_eq!(store.get("a").unwrap().as_deref(), Some(&1));
        let replaced = store.apply("a".into(), Some(Arc::new(2)), "4".into());
        assert_eq!(replaced.as_deref(), Some(&1));
        assert_eq!(store.revision(), "4");
        let old = store.replace(BTreeMap::new(), "9".into());
        assert_eq!(old.len(), 1);
        assert!(store.list().unwrap().is_empty());
    }
}
