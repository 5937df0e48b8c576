//! The `gateway` actor: kactor's kube-apiserver, the only component that talks to the
//! store. It turns Kubernetes API requests into store reads and compare-and-swap
//! transactions, and serves list and watch from one watch cache per resource type.
//!
//! It is a client of the store's Raft (leader discovery, retries with the same request
//! id, so a retried write applies once) and a watcher of it (one watch per type). It
//! persists nothing: everything it knows is in the store, and a restarted gateway
//! relists. Time and randomness arrive on each request as a [`Stamp`] from the host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::*;
use super::authn::Requester;
use super::cache::{CachedObject, ObjectSummary, WatchCache};
use super::calls::{Call, Step};
use super::health;
use super::object;
use super::secrets::Encryption;
use super::streams::{StreamMsg, Streams};
use crate::kernel::{Actor, Input, NoOperation, NodeId, Outbox, TimerSpan};
use crate::raft::{ClientReply, ClientRequest, NextAttempt, RaftMsg, RaftRetry, RequestId};
use crate::store::{
    EventKind, KeySpan, KeyValue, Mvcc, RangeRequest, Revision, StoreMsg, StoreOutput, StoreQuery,
    WatchEnd, WatchId, WatchRequest,
};
use crate::watcher::{classify_span, SpanVerdict, WatchEnding};
use kactor_kube::registry::{ResourceType, RESOURCES};

/// Identifies one API call inside the gateway.
pub type CallId = u64;

// A request is the largest message and the most common one: boxing it would cost every
// request an allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GatewayMsg {
    /// An API request. `user` and `stamp` are set by the host that received it (a mesh
    /// peer's user from its certificate, an HTTPS request's verified credentials, and the
    /// host's clock and random source), never taken from the sender.
    Request {
        id: ApiRequestId,
        request: ApiRequest,
        user: Requester,
        stamp: Stamp,
    },
    Response {
        id: ApiRequestId,
        outcome: ApiOutcome,
    },
    /// Events of the watch that request `id` established, in revision order: every
    /// matching change of revisions `from_revision..=revision`. Consecutive messages of a
    /// watch cover consecutive spans, so a client sees a lost or reordered message as a
    /// gap and resumes from the last revision it has. The first message of a watch that
    /// starts with the current state (ADDED events) covers `0..=revision`.
    WatchEvents {
        id: ApiRequestId,
        from_revision: Revision,
        revision: Revision,
        events: Vec<WatchEvent>,
    },
    /// The watch ended; `None` when it simply timed out (clients re-watch from the last
    /// revision they saw), an error (410 Expired) when they must relist.
    WatchEnded {
        id: ApiRequestId,
        error: Option<ApiError>,
    },
    WatchCancel {
        id: ApiRequestId,
    },
    /// The host's clock and fresh randomness, before each timer: the gateway's own
    /// calls (bootstrap, garbage collection) are stamped with it. Only the host sends it;
    /// the host drops one from any peer.
    Clock {
        stamp: Stamp,
    },
    /// To and from store members.
    Store(StoreMsg),
    /// Log and exec streams, relayed between callers and kubelets (`streams.rs`).
    Stream(StreamMsg),
}

impl GatewayMsg {
    pub fn kind(&self) -> &'static str {
        match self {
            GatewayMsg::Request { .. } => "api_request",
            GatewayMsg::Response { .. } => "api_response",
            GatewayMsg::WatchEvents { .. } => "api_watch_events",
            GatewayMsg::WatchEnded { .. } => "api_watch_ended",
            GatewayMsg::WatchCancel { .. } => "api_watch_cancel",
            GatewayMsg::Clock { .. } => "clock",
            GatewayMsg::Store(msg) => msg.kind(),
            GatewayMsg::Stream(msg) => msg.kind(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GatewayTimer {
    /// Cache liveness, waits for the cache, watch bookmarks.
    Tick,
    /// One attempt of a store request ran out of time.
    StoreAttempt(RequestId),
}

/// Static configuration. Every limit has units last and a reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GatewayConfig {
    pub id: NodeId,
    pub store_members: Vec<NodeId>,
    /// The first store request id: request ids must grow across restarts of one
    /// identity (the store's sessions answer a repeated id from memory), so the host
    /// passes its boot time in nanoseconds.
    pub request_id_base: RequestId,
    /// The kinds with a watch cache (list and watch need one); all served kinds by
    /// default, fewer in models.
    pub cached_kinds: Vec<&'static str>,
    pub encryption: Encryption,
    /// RBAC on; off only in models that check other things.
    pub authorize: bool,
    /// AlwaysPullImages admission.
    pub always_pull_images: bool,
    pub tick_span: TimerSpan,
    /// How long one store attempt waits for its reply.
    pub store_attempt_span: TimerSpan,
    /// The pause before a refused store request goes again (no leader yet, a member
    /// that cannot serve, a busy leader): keeps an election from becoming a busy loop.
    pub store_retry_span: TimerSpan,
    /// Attempts per store request: rides out an election, then answers 503.
    pub store_attempts_max: u32,
    /// API calls in progress at once; past it, 429 (kube's max-requests-inflight).
    pub calls_max: usize,
    /// Client watches at once: each costs a filter per change.
    pub watches_max: usize,
    /// Ticks a consistent list or watch waits for the cache to reach the store's
    /// revision before it answers 504 (kube-apiserver waits 3 s).
    pub cache_wait_ticks_max: u32,
    /// Ticks without any message on a store watch before the cache resumes it elsewhere:
    /// three store bookmark intervals.
    pub feed_silence_ticks_max: u32,
    /// Ticks between bookmarks to client watches that asked for them.
    pub bookmark_ticks: u32,
    /// Objects per page when a cache lists the store: a page stays well inside a frame.
    pub fill_page_objects: u64,
    /// Re-runs of an update or patch that lost a compare-and-swap race, and of a create
    /// whose quota changed underneath it.
    pub conflict_retries_max: u32,
    /// Log and exec streams relayed at once; past it, 429. The host's queue to its
    /// in-process callers holds this many full windows of data and of acks
    /// (`streams::STREAM_WINDOW_MESSAGES` each) in half its room.
    pub streams_max: usize,
    /// Kubelets registered for streams: kube's largest supported cluster.
    pub kubelets_max: usize,
    /// Ticks without a hello before a kubelet is forgotten (and its streams end): its
    /// hellos come every 2 s, so this rides out a few lost ones.
    pub kubelet_silence_ticks_max: u32,
    /// Ticks a leg of a stream may stay silent: each end acknowledges at least every
    /// 5 s, so silence this long means it is gone.
    pub stream_silence_ticks_max: u32,
    /// Ticks a kubelet has to start a stream: kube's stream creation timeout (30 s).
    pub stream_start_ticks_max: u32,
    /// Where services' ClusterIPs and node ports come from (kube-apiserver's
    /// `--service-cluster-ip-range` and `--service-node-port-range`).
    pub service_ranges: super::allocation::ServiceRanges,
    /// Ticks without any store answer after which the gateway asks the store for its
    /// revision (a linearizable read: a quorum answers it), so `/readyz` knows the store
    /// serves even when no one writes. 0: never (models, whose state space it would grow).
    pub store_probe_ticks: u32,
    /// Ticks since the store last answered after which `/readyz` reports it failed: a probe
    /// goes every second and an attempt may take 2 s, so this is two probes missed.
    pub store_answer_ticks_max: u32,
    /// The Ed25519 seed that signs service account tokens (`tokens.rs`); empty: token
    /// requests answer 503.
    pub service_account_key: Vec<u8>,
    /// kube-apiserver's static token file, as digests (`authn.rs`).
    pub static_tokens: super::authn::StaticTokens,
    /// HTTPS requests without credentials act as `system:anonymous` (kube's
    /// `--anonymous-auth`); without it only the health endpoints take them.
    pub anonymous_auth: bool,
}

impl GatewayConfig {
    pub fn new(id: NodeId, store_members: Vec<NodeId>) -> GatewayConfig {
        GatewayConfig {
            id,
            store_members,
            request_id_base: 0,
            cached_kinds: RESOURCES
                .iter()
                .filter(|r| !r.is_review())
                .map(|r| r.kind)
                .collect(),
            encryption: Encryption::default(),
            authorize: true,
            always_pull_images: false,
            tick_span: TimerSpan::new(100, 100),
            store_attempt_span: TimerSpan::new(2000, 2000),
            store_retry_span: TimerSpan::new(150, 150),
            store_attempts_max: 20,
            calls_max: 4096,
            watches_max: 16_384,
            cache_wait_ticks_max: 30,
            feed_silence_ticks_max: 150,
            bookmark_ticks: 600,
            fill_page_objects: 500,
            conflict_retries_max: 10,
            streams_max: 128,
            kubelets_max: 5000,
            kubelet_silence_ticks_max: 100,
            stream_silence_ticks_max: 300,
            stream_start_ticks_max: 300,
            service_ranges: Default::default(),
            store_probe_ticks: 10,
            store_answer_ticks_max: 50,
            service_account_key: Vec::new(),
            static_tokens: Default::default(),
            anonymous_auth: false,
        }
    }
}

/// Who is waiting for a store request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Purpose {
    Call(CallId),
    /// A page of a cache's initial list.
    Fill(usize),
    /// A read of the store's revision that only asks whether the store answers (`/readyz`).
    Probe,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct StoreCall {
    purpose: Purpose,
    body: ClientRequest<Mvcc>,
    attempts: u32,
    target: NodeId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FeedPhase {
    /// Listing the store at `revision` (0 until the first page fixes it), after `after`.
    Filling { revision: Revision, after: Vec<u8> },
    /// Following the store watch from `cache.revision() + 1`.
    Watching,
}

/// One resource type's cache and the store watch that feeds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Feed {
    pub resource: &'static ResourceType,
    pub cache: WatchCache,
    phase: FeedPhase,
    /// The member the store watch is on.
    member: NodeId,
    watch: WatchId,
    silent_ticks: u32,
    /// A fill failed: it starts again on the next tick.
    refill_due: bool,
}

/// A client's watch, served from a feed's cache.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientWatch {
    pub feed: usize,
    pub prefix: Vec<u8>,
    pub labels: String,
    pub fields: String,
    /// Every cache change up to here was considered (sent, or filtered out).
    pub revision: Revision,
    /// The span of the last message sent ends here: the next one starts after it.
    pub sent: Revision,
    pub bookmarks: bool,
    pub idle_ticks: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gateway {
    pub(crate) config: GatewayConfig,
    /// The store member the next request goes to.
    store_retry: RaftRetry,
    next_store_request: RequestId,
    store_calls: BTreeMap<RequestId, StoreCall>,
    pub(crate) calls: BTreeMap<CallId, Call>,
    next_call: CallId,
    pub(crate) feeds: Vec<Feed>,
    pub(crate) watches: BTreeMap<Caller, ClientWatch>,
    /// Calls the gateway makes on its own behalf (deletecollection, garbage
    /// collection), started once the current call step is done.
    pub(crate) deferred: Vec<ApiRequest>,
    /// The latest request's stamp: the gateway's own calls take their time from it.
    last_stamp: Stamp,
    /// Objects the collector acted on, and the tick it did: not acted on again until
    /// that call had time to land.
    pub(crate) collecting: BTreeMap<Vec<u8>, u64>,
    /// The bootstrap policy exists (or its creation was issued).
    bootstrapped: bool,
    ticks: u64,
    /// The tick at which the store last answered a request (`/readyz`'s etcd check).
    store_answered_tick: Option<u64>,
    /// A probe of the store is in flight.
    probing: bool,
    /// The streams being relayed, and the kubelets that serve them.
    pub(crate) streams: Streams,
}

impl Actor for Gateway {
    type Config = GatewayConfig;
    type Msg = GatewayMsg;
    type Timer = GatewayTimer;
    type Persist = NoOperation;
    type Durable = ();
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: GatewayConfig, _durable: (), out: &mut Outbox<Self>) -> Gateway {
        assert!(!config.store_members.is_empty(), "a gateway needs a store");
        let feeds = RESOURCES
            .iter()
            .filter(|r| config.cached_kinds.contains(&r.kind))
            .enumerate()
            .map(|(index, resource)| Feed {
                resource,
                cache: WatchCache::new(),
                phase: FeedPhase::Filling {
                    revision: 0,
                    after: Vec::new(),
                },
                member: config.store_members[0],
                watch: index as WatchId + 1,
                silent_ticks: 0,
                refill_due: false,
            })
            .collect();
        let mut gateway = Gateway {
            store_retry: RaftRetry::new(config.store_members[0]),
            next_store_request: config.request_id_base,
            store_calls: BTreeMap::new(),
            calls: BTreeMap::new(),
            next_call: 1,
            feeds,
            watches: BTreeMap::new(),
            deferred: Vec::new(),
            last_stamp: Stamp::default(),
            collecting: BTreeMap::new(),
            bootstrapped: false,
            ticks: 0,
            store_answered_tick: None,
            probing: false,
            // Stream ids, like store request ids, must not repeat across restarts: a
            // kubelet may still hold a stream of the previous run under the same id.
            streams: Streams {
                next_id: config.request_id_base,
                ..Streams::default()
            },
            config,
        };
        for feed in 0..gateway.feeds.len() {
            gateway.fill_next_page(feed, out);
        }
        out.set_timer(GatewayTimer::Tick, gateway.config.tick_span);
        gateway
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        match input {
            Input::Message { from, msg } => self.on_message(from, msg, out),
            Input::Timer(GatewayTimer::Tick) => {
                self.on_tick(out);
                out.set_timer(GatewayTimer::Tick, self.config.tick_span);
            }
            Input::Timer(GatewayTimer::StoreAttempt(request)) => {
                self.on_store_timeout(request, out)
            }
            Input::Completion(never) => match never {},
        }
        assert!(self.calls.len() <= self.config.calls_max);
        assert!(self.watches.len() <= self.config.watches_max);
    }

    fn apply_persist(_durable: &mut (), record: &NoOperation) {
        match *record {}
    }

    fn is_checkpoint(record: &NoOperation) -> bool {
        match *record {}
    }

    fn message_kind(msg: &GatewayMsg) -> &'static str {
        msg.kind()
    }
}

impl Gateway {
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// The cache of a kind, if it has one and it is synced (for admission and tests).
    pub fn cache(&self, kind: &str) -> Option<&WatchCache> {
        self.feeds
            .iter()
            .find(|f| f.resource.kind == kind)
            .map(|f| &f.cache)
            .filter(|c| c.synced())
    }

    pub(crate) fn feed_of(&self, resource: &ResourceType) -> Option<usize> {
        self.feeds.iter().position(|f| f.resource == resource)
    }

    fn on_message(&mut self, from: NodeId, msg: GatewayMsg, out: &mut Outbox<Self>) {
        match msg {
            GatewayMsg::Request {
                id,
                request,
                user,
                stamp,
            } => self.on_request((from, id), request, user, stamp, out),
            GatewayMsg::WatchCancel { id } => {
                if self.watches.remove(&(from, id)).is_some() {
                    out.send(from, GatewayMsg::WatchEnded { id, error: None });
                }
            }
            GatewayMsg::Store(msg) => self.on_store(from, msg, out),
            GatewayMsg::Clock { stamp } => self.last_stamp = stamp,
            GatewayMsg::Stream(msg) => self.on_stream(from, msg, out),
            // Replies and events go to clients; a gateway never needs one.
            GatewayMsg::Response { .. }
            | GatewayMsg::WatchEvents { .. }
            | GatewayMsg::WatchEnded { .. } => {}
        }
    }

    fn on_request(
        &mut self,
        caller: Caller,
        request: ApiRequest,
        requester: Requester,
        stamp: Stamp,
        out: &mut Outbox<Self>,
    ) {
        let _span =
            tracing::debug_span!("api", verb = ?request.verb, plural = %request.path.plural)
                .entered();
        if self.calls.len() >= self.config.calls_max {
            let error = ApiError::too_many_requests("too many requests in progress".into());
            return self.reply(caller, ApiOutcome::Err(error), out);
        }
        let non_resource_path = match request.verb {
            Verb::GetPath => request.path.name.as_deref(),
            _ => None,
        };
        let user = match self.requester_user(requester, non_resource_path) {
            Ok(user) => user,
            Err(error) => return self.reply(caller, ApiOutcome::Err(error), out),
        };
        if request.verb == Verb::GetPath {
            let path = request.path.name.as_deref().unwrap_or("");
            let outcome = match (self.authorize_path(&user, path), health::checks_of(path)) {
                (ApiOutcome::Ok { .. }, Some(checks)) => {
                    ApiOutcome::ok(200, health::report(self, checks))
                }
                (outcome, _) => outcome,
            };
            return self.reply(caller, outcome, out);
        }
        self.last_stamp = stamp;
        let id = self.next_call;
        self.next_call += 1;
        match Call::new(caller, request, user, stamp) {
            Ok(call) => {
                self.calls.insert(id, call);
                self.run_call(id, out);
            }
            Err(error) => self.reply(caller, ApiOutcome::Err(error), out),
        }
    }

    /// RBAC for a non-resource URL (kube-apiserver's message on refusal).
    fn authorize_path(&self, user: &User, url: &str) -> ApiOutcome {
        let allowed = match self.config.authorize {
            false => Ok(true),
            true => super::rbac::non_resource_allowed(self, user, "get", url),
        };
        match allowed {
            Ok(true) => ApiOutcome::ok(200, Vec::new()),
            Ok(false) => ApiOutcome::Err(ApiError::forbidden(format!(
                "forbidden: User \"{}\" cannot get path \"{url}\"",
                user.name
            ))),
            Err(error) => ApiOutcome::Err(error),
        }
    }

    /// Answers a caller. The gateway's own calls (garbage collection) have no one to tell.
    pub(crate) fn reply(&mut self, caller: Caller, outcome: ApiOutcome, out: &mut Outbox<Self>) {
        if caller.0 == self.config.id {
            if let ApiOutcome::Err(error) = &outcome {
                tracing::debug!(?error, "internal call failed");
            }
            return;
        }
        let id = caller.1;
        out.send(caller.0, GatewayMsg::Response { id, outcome });
    }

    /// Starts the calls deferred by the step that just ran.
    pub(crate) fn run_deferred(&mut self, out: &mut Outbox<Self>) {
        for request in std::mem::take(&mut self.deferred) {
            self.internal_call(request, out);
        }
    }

    /// Starts (or restarts) a call on the gateway's own behalf.
    pub(crate) fn internal_call(&mut self, request: ApiRequest, out: &mut Outbox<Self>) {
        if self.calls.len() >= self.config.calls_max {
            return; // retried on a later change or tick
        }
        let user = User::new("system:kube-controller-manager", &["system:masters"]);
        let id = self.next_call;
        self.next_call += 1;
        // Fresh randomness for the call's nonces: the last stamp's, made unique per call.
        let stamp = Stamp {
            unix_ms: self.last_stamp.unix_ms,
            entropy: self.last_stamp.entropy ^ (u128::from(id) << 64 | 1),
        };
        if let Ok(call) = Call::new((self.config.id, id), request, user, stamp) {
            self.calls.insert(id, call);
            self.run_call(id, out);
        }
    }

    // ---- the store client ----

    pub(crate) fn store_request(
        &mut self,
        purpose: Purpose,
        body: ClientRequest<Mvcc>,
        out: &mut Outbox<Self>,
    ) {
        self.next_store_request += 1;
        let request = self.next_store_request;
        let call = StoreCall {
            purpose,
            body,
            attempts: 0,
            target: self.store_retry.target(),
        };
        self.store_calls.insert(request, call);
        self.store_attempt(request, out);
    }

    fn store_attempt(&mut self, request: RequestId, out: &mut Outbox<Self>) {
        let target = self.store_retry.target();
        let Some(call) = self.store_calls.get_mut(&request) else {
            return;
        };
        call.attempts += 1;
        call.target = target;
        let body = call.body.clone();
        let msg = StoreMsg::Raft(RaftMsg::Request { request, body });
        out.send(target, GatewayMsg::Store(msg));
        out.set_timer(
            GatewayTimer::StoreAttempt(request),
            self.config.store_attempt_span,
        );
    }

    fn on_store_timeout(&mut self, request: RequestId, out: &mut Outbox<Self>) {
        let Some(call) = self.store_calls.get(&request) else {
            return; // answered since
        };
        let (attempts, target) = (call.attempts, call.target);
        if attempts >= self.config.store_attempts_max {
            let call = self.store_calls.remove(&request).expect("present");
            let error = ApiError::unavailable(format!(
                "the store did not answer after {attempts} attempts"
            ));
            return self.store_failed(call.purpose, error, out);
        }
        self.store_retry
            .on_silence(&self.config.store_members, target);
        self.store_attempt(request, out);
    }

    fn on_store_reply(
        &mut self,
        from: NodeId,
        request: RequestId,
        body: ClientReply<Mvcc>,
        out: &mut Outbox<Self>,
    ) {
        let Some(call) = self.store_calls.get(&request) else {
            return; // a duplicate, or an answer to an attempt already given up
        };
        let attempts = call.attempts;
        let output = match body {
            ClientReply::Output(output) => output,
            ClientReply::Refused(refusal) => {
                let members = &self.config.store_members;
                let next = if attempts < self.config.store_attempts_max {
                    self.store_retry.on_refusal(members, from, &refusal)
                } else {
                    NextAttempt::GiveUp
                };
                match next {
                    NextAttempt::Now => return self.store_attempt(request, out),
                    // The attempt timer, shortened to a pause, sends it again.
                    NextAttempt::AfterPause => {
                        let pause = GatewayTimer::StoreAttempt(request);
                        return out.set_timer(pause, self.config.store_retry_span);
                    }
                    NextAttempt::GiveUp => {
                        let call = self.store_calls.remove(&request).expect("present");
                        let error =
                            ApiError::unavailable(format!("the store refused: {refusal:?}"));
                        return self.store_failed(call.purpose, error, out);
                    }
                }
            }
            other => {
                let call = self.store_calls.remove(&request).expect("present");
                let error = ApiError::internal(format!("unexpected store reply {other:?}"));
                return self.store_failed(call.purpose, error, out);
            }
        };
        let call = self.store_calls.remove(&request).expect("present");
        out.cancel_timer(GatewayTimer::StoreAttempt(request));
        self.store_answered_tick = Some(self.ticks);
        match call.purpose {
            Purpose::Call(id) => self.advance_call(id, output, out),
            Purpose::Fill(feed) => self.on_fill_page(feed, output, out),
            Purpose::Probe => self.probing = false,
        }
    }

    /// Whether the store answered a request within `store_answer_ticks_max` ticks.
    pub(crate) fn store_answers(&self) -> bool {
        let bound = u64::from(self.config.store_answer_ticks_max);
        self.store_answered_tick
            .is_some_and(|tick| self.ticks.saturating_sub(tick) <= bound)
    }

    /// Asks the store for its revision when it has not answered anything for a while.
    fn probe_store(&mut self, out: &mut Outbox<Self>) {
        let every = u64::from(self.config.store_probe_ticks);
        let since = self.ticks - self.store_answered_tick.unwrap_or(0);
        if every == 0 || self.probing || since < every {
            return;
        }
        self.probing = true;
        let body = ClientRequest::Read(StoreQuery::Header);
        self.store_request(Purpose::Probe, body, out);
    }

    fn store_failed(&mut self, purpose: Purpose, error: ApiError, out: &mut Outbox<Self>) {
        match purpose {
            Purpose::Call(id) => {
                if let Some(call) = self.calls.remove(&id) {
                    self.reply(call.caller, ApiOutcome::Err(error), out);
                }
            }
            Purpose::Probe => self.probing = false,
            Purpose::Fill(feed) => {
                // Started again on the next tick: a pause, not a loop against the store.
                tracing::warn!(feed, ?error, "cache fill failed; retrying");
                self.feeds[feed].phase = FeedPhase::Filling {
                    revision: 0,
                    after: Vec::new(),
                };
                self.feeds[feed].refill_due = true;
            }
        }
    }

    fn on_store(&mut self, from: NodeId, msg: StoreMsg, out: &mut Outbox<Self>) {
        match msg {
            StoreMsg::Raft(RaftMsg::Reply { request, body }) => {
                self.on_store_reply(from, request, body, out)
            }
            StoreMsg::WatchEvents {
                watch,
                from_revision,
                revision,
                events,
            } => {
                let changes = events
                    .into_iter()
                    .map(|e| (e.kind == EventKind::Delete, e.kv))
                    .collect();
                self.on_feed(from, watch, from_revision, revision, changes, out)
            }
            StoreMsg::WatchProgress {
                watch,
                from_revision,
                revision,
            } => self.on_feed(from, watch, from_revision, revision, Vec::new(), out),
            StoreMsg::WatchEnded { watch, end } => self.on_feed_ended(from, watch, end, out),
            StoreMsg::WatchCreated { watch, .. } => {
                if let Some(feed) = self.feeds.iter_mut().find(|f| f.watch == watch) {
                    feed.silent_ticks = 0;
                }
            }
            _ => {}
        }
    }

    // ---- the caches ----

    fn fill_next_page(&mut self, feed: usize, out: &mut Outbox<Self>) {
        let FeedPhase::Filling { revision, after } = &self.feeds[feed].phase else {
            return;
        };
        let prefix = object::type_prefix(self.feeds[feed].resource, None);
        let end = object::prefix_end(&prefix);
        let start = if after.is_empty() {
            prefix
        } else {
            let mut next = after.clone();
            next.push(0);
            next
        };
        let range = RangeRequest {
            span: KeySpan::Interval { start, end },
            revision: *revision,
            limit: self.config.fill_page_objects,
            count_only: false,
            keys_only: false,
        };
        let body = ClientRequest::Read(StoreQuery::Range(range));
        self.store_request(Purpose::Fill(feed), body, out);
    }

    fn on_fill_page(&mut self, feed: usize, output: StoreOutput, out: &mut Outbox<Self>) {
        let StoreOutput::Range(page) = output else {
            // Compacted underneath a paged fill: start over at the latest revision.
            tracing::debug!(feed, ?output, "cache fill restarts");
            self.feeds[feed].phase = FeedPhase::Filling {
                revision: 0,
                after: Vec::new(),
            };
            return self.fill_next_page(feed, out);
        };
        let FeedPhase::Filling { revision, after } = &mut self.feeds[feed].phase else {
            return;
        };
        if *revision == 0 {
            *revision = page.revision;
        }
        let list_revision = *revision;
        if let Some(last) = page.kvs.last() {
            *after = last.key.clone();
        }
        for kv in &page.kvs {
            match self.decode(kv) {
                Ok(object) => self.feeds[feed].cache.fill(kv.key.clone(), object),
                Err(error) => tracing::error!(key = ?kv.key, error, "undecodable object skipped"),
            }
        }
        if page.more {
            return self.fill_next_page(feed, out);
        }
        let feed_state = &mut self.feeds[feed];
        feed_state.cache.finish_fill(list_revision);
        feed_state.phase = FeedPhase::Watching;
        tracing::debug!(
            kind = feed_state.resource.kind,
            list_revision,
            objects = feed_state.cache.len(),
            "cache synced"
        );
        self.watch_store(feed, out);
        self.on_cache_advanced(feed, out);
    }

    /// Starts (or resumes) the store watch from just after what the cache has.
    fn watch_store(&mut self, feed: usize, out: &mut Outbox<Self>) {
        let target = self.store_retry.target();
        let state = &mut self.feeds[feed];
        state.member = target;
        state.silent_ticks = 0;
        let request = WatchRequest {
            watch: state.watch,
            span: KeySpan::Prefix(object::type_prefix(state.resource, None)),
            start_revision: state.cache.revision() + 1,
            prev_kv: false,
        };
        out.send(target, GatewayMsg::Store(StoreMsg::Watch(request)));
    }

    fn on_feed(
        &mut self,
        from: NodeId,
        watch: WatchId,
        from_revision: Revision,
        revision: Revision,
        changes: Vec<(bool, KeyValue)>,
        out: &mut Outbox<Self>,
    ) {
        let Some(feed) = self.feeds.iter().position(|f| f.watch == watch) else {
            return;
        };
        let state = &self.feeds[feed];
        if state.phase != FeedPhase::Watching || from != state.member {
            return; // from a watch this feed has left
        }
        let ack = StoreMsg::WatchAck { watch, revision };
        match classify_span(state.cache.revision(), from_revision, revision) {
            SpanVerdict::Repeats => {
                out.send(from, GatewayMsg::Store(ack));
                return;
            }
            // A lost message: resume from what the cache has.
            SpanVerdict::Gap => return self.watch_store(feed, out),
            SpanVerdict::Continues => {}
        }
        for (deleted, kv) in changes {
            let key = kv.key.clone();
            let object = if deleted {
                None
            } else {
                match self.decode(&kv) {
                    Ok(object) => Some(object),
                    Err(error) => {
                        tracing::error!(?key, error, "undecodable object dropped");
                        None
                    }
                }
            };
            self.feeds[feed].cache.apply(kv.mod_revision, key, object);
        }
        self.feeds[feed].cache.progress(revision);
        self.feeds[feed].silent_ticks = 0;
        out.send(from, GatewayMsg::Store(ack));
        self.on_cache_advanced(feed, out);
    }

    fn on_feed_ended(
        &mut self,
        from: NodeId,
        watch: WatchId,
        end: WatchEnd,
        out: &mut Outbox<Self>,
    ) {
        let Some(feed) = self.feeds.iter().position(|f| f.watch == watch) else {
            return;
        };
        if from != self.feeds[feed].member || self.feeds[feed].phase != FeedPhase::Watching {
            return;
        }
        match end.ending() {
            WatchEnding::Expired => {
                tracing::info!(
                    kind = self.feeds[feed].resource.kind,
                    ?end,
                    "cache overtaken by compaction; relisting"
                );
                self.relist(feed, out);
            }
            // A cache never stops following its store: even a cancel (which it never
            // sends) is resumed, from another member.
            WatchEnding::Resumable | WatchEnding::Final => {
                self.store_retry
                    .on_silence(&self.config.store_members, from);
                self.watch_store(feed, out);
            }
        }
    }

    /// Drops a cache and lists again; its client watches end with 410 so their clients
    /// relist too.
    fn relist(&mut self, feed: usize, out: &mut Outbox<Self>) {
        self.feeds[feed].cache.reset();
        self.feeds[feed].phase = FeedPhase::Filling {
            revision: 0,
            after: Vec::new(),
        };
        let ended: Vec<Caller> = self
            .watches
            .iter()
            .filter(|(_, w)| w.feed == feed)
            .map(|(caller, _)| *caller)
            .collect();
        for caller in ended {
            self.watches.remove(&caller);
            let error =
                ApiError::expired("too old resource version: the watch cache was reset".into());
            out.send(
                caller.0,
                GatewayMsg::WatchEnded {
                    id: caller.1,
                    error: Some(error),
                },
            );
        }
        self.fill_next_page(feed, out);
    }

    /// A stored value as served: decrypted, parsed, with its resourceVersion.
    pub(crate) fn decode(&self, kv: &KeyValue) -> Result<CachedObject, String> {
        let plain = self.config.encryption.open(&kv.value)?;
        let value: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|e| format!("stored object is not JSON: {e}"))?;
        let value = object::with_revision(value, kv.mod_revision);
        let owners = value["metadata"]["ownerReferences"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| Some(r["uid"].as_str()?.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let summary = ObjectSummary {
            uid: object::meta_str(&value, "uid").unwrap_or("").to_string(),
            owners,
            terminating: object::is_terminating(&value),
            finalizers: object::finalizers(&value),
        };
        Ok(CachedObject {
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            json: object::to_bytes(&value),
            summary,
        })
    }

    fn on_tick(&mut self, out: &mut Outbox<Self>) {
        self.ticks += 1;
        for feed in 0..self.feeds.len() {
            let state = &mut self.feeds[feed];
            if std::mem::take(&mut state.refill_due) {
                self.fill_next_page(feed, out);
                continue;
            }
            if state.phase != FeedPhase::Watching {
                continue;
            }
            state.silent_ticks += 1;
            if state.silent_ticks > self.config.feed_silence_ticks_max {
                tracing::info!(
                    kind = state.resource.kind,
                    member = state.member,
                    "store watch silent; resuming"
                );
                let member = state.member;
                self.store_retry
                    .on_silence(&self.config.store_members, member);
                self.watch_store(feed, out);
            }
        }
        self.tick_calls(out);
        self.tick_watches(out);
        self.tick_streams(out);
        self.collect(out);
        self.bootstrap(out);
        self.probe_store(out);
    }

    /// The bootstrap objects the caches do not show, or None while a cache they need is
    /// not loaded. Kinds this gateway does not cache are left out.
    pub(crate) fn missing_bootstrap(
        &self,
    ) -> Option<Vec<(&'static ResourceType, serde_json::Value)>> {
        let mut wanted = super::bootstrap::bootstrap_objects(self.config.authorize);
        wanted.retain(|(resource, _)| self.config.cached_kinds.contains(&resource.kind));
        if wanted
            .iter()
            .any(|(resource, _)| self.cache(resource.kind).is_none())
        {
            return None;
        }
        let missing = wanted.into_iter().filter(|(resource, value)| {
            let cache = self.cache(resource.kind).expect("loaded");
            let key = object::object_key(resource, None, object::name(value));
            cache.get(&key).is_none()
        });
        Some(missing.collect())
    }

    /// Creates the bootstrap objects (system namespaces, RBAC policy) once the caches
    /// show them missing. A create that races another gateway's fails with
    /// AlreadyExists, which is fine. Kinds this gateway does not cache are left alone.
    fn bootstrap(&mut self, out: &mut Outbox<Self>) {
        if self.bootstrapped {
            return;
        }
        let Some(missing) = self.missing_bootstrap() else {
            return; // not loaded yet: next tick
        };
        self.bootstrapped = true;
        for (resource, value) in missing {
            let path = ResourcePath {
                group: resource.group.into(),
                plural: resource.plural.into(),
                ..ResourcePath::default()
            };
            let mut request = ApiRequest::new(Verb::Create, path);
            request.body = object::to_bytes(&value);
            self.internal_call(request, out);
        }
    }

    /// Asks the member a feed watches for a bookmark, so the cache can show it has
    /// reached a revision it waits for.
    pub(crate) fn request_progress(&self, feed: usize, out: &mut Outbox<Self>) {
        let state = &self.feeds[feed];
        if state.phase == FeedPhase::Watching {
            let msg = StoreMsg::WatchProgressRequest { watch: state.watch };
            out.send(state.member, GatewayMsg::Store(msg));
        }
    }

    pub(crate) fn ticks(&self) -> u64 {
        self.ticks
    }

    pub(crate) fn take_call(&mut self, id: CallId) -> Option<Call> {
        self.calls.remove(&id)
    }

    pub(crate) fn put_call(&mut self, id: CallId, call: Call) {
        self.calls.insert(id, call);
    }

    pub(crate) fn waiting_calls(&self) -> Vec<CallId> {
        self.calls
            .iter()
            .filter(|(_, c)| matches!(c.step, Step::AwaitCache { .. }))
            .map(|(id, _)| *id)
            .collect()
    }
}
