//! The store's client, for the gateway and tools: commands and linearizable reads through
//! Raft (with leader discovery and retry), serializable reads and lease keep-alives
//! answered by one member, and watches that resume by themselves after a lost message,
//! a restarted member or a silent link.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use kactor_actors::kernel::NodeId;
use kactor_actors::raft::{ClientReply, ClientRequest, RaftMsg, RequestId};
use kactor_actors::store::{
    KeySpan, LocalReply, LocalRequest, Mvcc, Revision, StoreCommand, StoreMsg, StoreOutput,
    StoreQuery, WatchEnd, WatchId, WatchRequest,
};
use kactor_actors::watcher::{
    WatchEnding, Watcher, WatcherAction, WatcherEndReason, WatcherInput, WatcherLimits,
};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::client::{
    Envelope, OthersHandler, RaftClient, REQUEST_ATTEMPTS_MAX, REQUEST_ATTEMPT_MS_MAX,
};
use crate::codec;
use crate::pki::NodeIdentity;
use crate::sync::{lock, Mutex};

/// Messages queued for one watch before the client drops more (the watch then sees a gap
/// and resumes): bounds memory against a consumer that stopped reading.
pub const WATCH_INBOX_MESSAGES_MAX: usize = 256;
/// Items a watch hands its consumer ahead of it.
pub const WATCH_ITEMS_MAX: usize = 64;
/// Silence after which a watch assumes its member is gone and resumes elsewhere: three
/// bookmark intervals of the store (5 s each).
pub const WATCH_SILENCE_MS_MAX: u64 = 15_000;
/// Resumes in a row without any delivery before a watch gives up.
pub const WATCH_RESUMES_MAX: u32 = 30;
/// Pause before a watch resumes; it doubles while resumes deliver nothing.
pub const WATCH_RESUME_PAUSE_MS: u64 = 200;
/// Resume pauses stop doubling here: a member back from a restart is found within it.
pub const WATCH_RESUME_PAUSE_MS_MAX: u64 = 3_200;

impl Envelope<Mvcc> for StoreMsg {
    fn request(request: RequestId, body: ClientRequest<Mvcc>) -> Self {
        StoreMsg::Raft(RaftMsg::Request { request, body })
    }
    fn into_reply(self) -> Result<(RequestId, ClientReply<Mvcc>), Self> {
        match self {
            StoreMsg::Raft(RaftMsg::Reply { request, body }) => Ok((request, body)),
            other => Err(other),
        }
    }
}

#[derive(Default)]
struct Routes {
    locals: HashMap<RequestId, oneshot::Sender<LocalReply>>,
    watches: HashMap<WatchId, mpsc::Sender<(NodeId, StoreMsg)>>,
    next_watch: WatchId,
}

fn route(routes: &Mutex<Routes>, from: NodeId, msg: StoreMsg) {
    let mut routes = lock(routes);
    let watch = match &msg {
        StoreMsg::LocalReply { request, .. } => {
            let request = *request;
            if let (Some(waiter), StoreMsg::LocalReply { body, .. }) =
                (routes.locals.remove(&request), msg)
            {
                let _ = waiter.send(body);
            }
            return;
        }
        StoreMsg::WatchCreated { watch, .. }
        | StoreMsg::WatchEvents { watch, .. }
        | StoreMsg::WatchProgress { watch, .. }
        | StoreMsg::WatchEnded { watch, .. } => *watch,
        other => return debug!(from, kind = other.kind(), "ignored"),
    };
    if let Some(queue) = routes.watches.get(&watch) {
        // Full: dropped; the watch sees the gap and resumes.
        let _ = queue.try_send((from, msg));
    }
}

#[derive(Clone)]
pub struct StoreClient {
    raft: RaftClient<Mvcc, StoreMsg>,
    routes: Arc<Mutex<Routes>>,
}

/// What a watch hands its consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchItem {
    /// The matching events of every revision up to `revision` not delivered before.
    Events {
        revision: Revision,
        events: Vec<kactor_actors::store::Event>,
    },
    /// Nothing more matched up to `revision` (a bookmark).
    Progress { revision: Revision },
    /// The watch is over: it cannot resume (compacted past it, or the store is gone).
    Ended(String),
}

impl StoreClient {
    pub async fn connect(
        identity: NodeIdentity,
        server: NodeId,
        addr: SocketAddr,
    ) -> anyhow::Result<StoreClient> {
        let routes = Arc::new(Mutex::new(Routes::default()));
        let routed = routes.clone();
        let others: OthersHandler<StoreMsg> = Box::new(move |from, msg| route(&routed, from, msg));
        let raft = RaftClient::connect_with(identity, server, addr, others).await?;
        if let Ok(status) = raft.status(server).await {
            raft.remember(&status);
        }
        Ok(StoreClient { raft, routes })
    }

    /// Membership, status and leadership requests.
    pub fn raft(&self) -> &RaftClient<Mvcc, StoreMsg> {
        &self.raft
    }

    /// Commits a command and returns what it produced.
    pub async fn command(&self, command: StoreCommand) -> anyhow::Result<StoreOutput> {
        output(self.raft.request(ClientRequest::Command(command)).await?)
    }

    /// A linearizable read (ReadIndex at the leader).
    pub async fn read(&self, query: StoreQuery) -> anyhow::Result<StoreOutput> {
        output(self.raft.request(ClientRequest::Read(query)).await?)
    }

    /// Asks one member, without retry.
    pub async fn local(&self, node: NodeId, body: LocalRequest) -> anyhow::Result<LocalReply> {
        let request = self.raft.next_request();
        let (tx, rx) = oneshot::channel();
        lock(&self.routes).locals.insert(request, tx);
        let sent = codec::encode(&StoreMsg::Local { request, body })
            .map_err(anyhow::Error::from)
            .and_then(|frame| {
                self.raft
                    .mesh()
                    .send(node, frame)
                    .map_err(|e| anyhow!("{e:?}"))
            });
        let reply = match sent {
            Ok(()) => tokio::time::timeout(Duration::from_millis(REQUEST_ATTEMPT_MS_MAX), rx).await,
            Err(e) => {
                lock(&self.routes).locals.remove(&request);
                bail!("cannot send to {node}: {e}");
            }
        };
        lock(&self.routes).locals.remove(&request);
        match reply {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => bail!("client shut down"),
            Err(_) => bail!("no reply from {node} within {REQUEST_ATTEMPT_MS_MAX} ms"),
        }
    }

    /// Asks the leader (lease keep-alive and time-to-live), following redirections.
    pub async fn leader_local(&self, body: LocalRequest) -> anyhow::Result<LocalReply> {
        let mut last_error = anyhow!("no attempt made");
        for _ in 0..REQUEST_ATTEMPTS_MAX {
            let target = self.raft.target();
            match self.local(target, body.clone()).await {
                Ok(LocalReply::NotLeader { leader }) => {
                    last_error = anyhow!("{target} is not the leader");
                    self.raft.follow(leader).await;
                }
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    last_error = e;
                    self.raft.follow(None).await;
                }
            }
        }
        Err(last_error.context(format!("gave up after {REQUEST_ATTEMPTS_MAX} attempts")))
    }

    /// Watches `span` from `start_revision` (0: changes from now on). The stream resumes
    /// by itself; it ends only when it cannot (see [`WatchItem::Ended`]).
    pub fn watch(
        &self,
        span: KeySpan,
        start_revision: Revision,
        prev_kv: bool,
    ) -> mpsc::Receiver<WatchItem> {
        let (items, receiver) = mpsc::channel(WATCH_ITEMS_MAX);
        let client = self.clone();
        let watch = Watch {
            span,
            prev_kv,
            start: start_revision.checked_sub(1),
        };
        tokio::spawn(async move {
            let reason = client.run_watch(watch, &items).await;
            let _ = items.send(WatchItem::Ended(reason)).await;
        });
        receiver
    }

    /// Runs the shared [`Watcher`] against the members: it decides when to resume and
    /// from where; this does the sends, the waits and the deliveries.
    async fn run_watch(&self, watch: Watch, items: &mpsc::Sender<WatchItem>) -> String {
        let (mut watcher, mut action) = Watcher::start(WATCHER_LIMITS, watch.start);
        let mut ending = String::from("no reason given");
        loop {
            match action {
                WatcherAction::Watch { after } => {
                    let node = self.raft.target();
                    let (id, mut inbox) = self.open_route();
                    let request = WatchRequest {
                        watch: id,
                        span: watch.span.clone(),
                        start_revision: after.map_or(0, |covered| covered + 1),
                        prev_kv: watch.prev_kv,
                    };
                    action = match self.send(node, &StoreMsg::Watch(request)) {
                        Ok(()) => {
                            let followed =
                                follow(self, &mut watcher, node, id, &mut inbox, items).await;
                            match followed {
                                Followed::Next(next, reason) => {
                                    ending = reason;
                                    next
                                }
                                Followed::ConsumerGone => {
                                    self.close_watch(node, id);
                                    return "the consumer went away".into();
                                }
                            }
                        }
                        Err(e) => {
                            ending = e.to_string();
                            watcher.step(WatcherInput::Failed)
                        }
                    };
                    self.close_watch(node, id);
                }
                WatcherAction::Pause { ms } => {
                    debug!(
                        reason = ending,
                        resumes = watcher.resumes(),
                        "watch resumes"
                    );
                    self.raft.follow(None).await;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    action = watcher.step(WatcherInput::PauseOver);
                }
                WatcherAction::End { reason } => {
                    return match reason {
                        WatcherEndReason::NoProgress => {
                            format!("gave up after {} resumes: {ending}", watcher.resumes())
                        }
                        WatcherEndReason::Expired | WatcherEndReason::Final => ending,
                    };
                }
                WatcherAction::List | WatcherAction::Accept | WatcherAction::Skip => {
                    unreachable!("a store watch cannot list, and follow handles deliveries")
                }
            }
        }
    }

    fn close_watch(&self, node: NodeId, id: WatchId) {
        lock(&self.routes).watches.remove(&id);
        let _ = self.send(node, &StoreMsg::WatchCancel { watch: id });
    }

    fn open_route(&self) -> (WatchId, mpsc::Receiver<(NodeId, StoreMsg)>) {
        let (tx, rx) = mpsc::channel(WATCH_INBOX_MESSAGES_MAX);
        let mut routes = lock(&self.routes);
        routes.next_watch += 1;
        let id = routes.next_watch;
        routes.watches.insert(id, tx);
        (id, rx)
    }

    fn send(&self, node: NodeId, msg: &StoreMsg) -> anyhow::Result<()> {
        let frame = codec::encode(msg)?;
        self.raft
            .mesh()
            .send(node, frame)
            .map_err(|e| anyhow!("cannot send to {node}: {e:?}"))
    }
}

struct Watch {
    span: KeySpan,
    prev_kv: bool,
    /// Every revision up to this one is delivered already (`None`: from now on).
    start: Option<Revision>,
}

/// The store client's watches: they cannot list, so an expired revision ends them.
const WATCHER_LIMITS: WatcherLimits = WatcherLimits {
    resumes_max: WATCH_RESUMES_MAX,
    pause_ms_min: WATCH_RESUME_PAUSE_MS,
    pause_ms_max: WATCH_RESUME_PAUSE_MS_MAX,
    can_list: false,
};

enum Followed {
    /// What the watcher does next, and why the watch was left.
    Next(WatcherAction, String),
    ConsumerGone,
}

/// Follows one server-side watch, delivering what the watcher accepts, until the watcher
/// decides something else.
async fn follow(
    client: &StoreClient,
    watcher: &mut Watcher,
    node: NodeId,
    id: WatchId,
    inbox: &mut mpsc::Receiver<(NodeId, StoreMsg)>,
    items: &mpsc::Sender<WatchItem>,
) -> Followed {
    loop {
        let silence = Duration::from_millis(WATCH_SILENCE_MS_MAX);
        let Ok(Some((from, msg))) = tokio::time::timeout(silence, inbox.recv()).await else {
            return Followed::Next(watcher.step(WatcherInput::Silent), "silence".into());
        };
        if from != node {
            continue;
        }
        let (first, last, item) = match msg {
            StoreMsg::WatchCreated { start_revision, .. } => {
                watcher.step(WatcherInput::Created {
                    start: start_revision,
                });
                continue;
            }
            StoreMsg::WatchEvents {
                from_revision,
                revision,
                events,
                ..
            } => (
                from_revision,
                revision,
                WatchItem::Events { revision, events },
            ),
            StoreMsg::WatchProgress {
                from_revision,
                revision,
                ..
            } => (from_revision, revision, WatchItem::Progress { revision }),
            StoreMsg::WatchEnded { end, .. } => {
                let (ending, reason) = ended(end);
                return Followed::Next(watcher.step(WatcherInput::Ended(ending)), reason);
            }
            _ => continue,
        };
        match watcher.step(WatcherInput::Span { first, last }) {
            WatcherAction::Accept => {}
            WatcherAction::Skip => continue,
            next => {
                let reason = format!("gap: got {first}..={last}");
                return Followed::Next(next, reason);
            }
        }
        if items.send(item).await.is_err() {
            return Followed::ConsumerGone;
        }
        let ack = StoreMsg::WatchAck {
            watch: id,
            revision: last,
        };
        if let Err(e) = client.send(node, &ack) {
            return Followed::Next(watcher.step(WatcherInput::Failed), e.to_string());
        }
    }
}

fn ended(end: WatchEnd) -> (WatchEnding, String) {
    let reason = match &end {
        WatchEnd::Compacted { compact_revision } => {
            format!("required revision has been compacted (compact revision {compact_revision})")
        }
        WatchEnd::Cancelled => "cancelled".into(),
        WatchEnd::Slow => "the member cut off a slow watch".into(),
        WatchEnd::TooManyWatchers => "the member has too many watchers".into(),
        WatchEnd::Unavailable => "the member cannot write to its disk".into(),
    };
    (end.ending(), reason)
}

fn output(reply: ClientReply<Mvcc>) -> anyhow::Result<StoreOutput> {
    match reply {
        ClientReply::Output(output) => Ok(output),
        other => bail!("unexpected reply: {other:?}"),
    }
}
