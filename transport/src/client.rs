//! A client of a Raft-replicated actor over the mesh: leader discovery, retries with the
//! same request id (so sessions apply a retried command once), and many requests in flight.
//! An [`Envelope`] says how Raft's client messages travel inside the actor's message type;
//! messages that are not replies go to the `others` handler (watch events, for one).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use kactor_actors::kernel::NodeId;
use kactor_actors::raft::{
    ClientReply, ClientRequest, NextAttempt, RaftMsg, RaftRetry, RaftStatus, Refusal, RequestId,
    StateMachine,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::codec;
use crate::mesh::{Inbound, Mesh};
use crate::pki::NodeIdentity;
use crate::sync::{lock, Mutex};

/// How long one attempt waits for its reply before it is retried.
pub const REQUEST_ATTEMPT_MS_MAX: u64 = 2_000;
/// Attempts per request: enough to ride out an election (a few seconds) and no more.
pub const REQUEST_ATTEMPTS_MAX: u32 = 20;
/// Pause before retrying a refused request (Busy, or no leader known yet).
pub const RETRY_PAUSE_MS: u64 = 150;

type Waiters<S> = Arc<Mutex<HashMap<RequestId, oneshot::Sender<(NodeId, ClientReply<S>)>>>>;

/// How Raft's client requests and replies travel inside an actor's message type.
pub trait Envelope<S: StateMachine>:
    Serialize + DeserializeOwned + Debug + Send + Sync + 'static
{
    fn request(request: RequestId, body: ClientRequest<S>) -> Self;
    /// The reply inside, or the message back when it is something else.
    fn into_reply(self) -> Result<(RequestId, ClientReply<S>), Self>;
}

impl<S: StateMachine> Envelope<S> for RaftMsg<S> {
    fn request(request: RequestId, body: ClientRequest<S>) -> Self {
        RaftMsg::Request { request, body }
    }
    fn into_reply(self) -> Result<(RequestId, ClientReply<S>), Self> {
        match self {
            RaftMsg::Reply { request, body } => Ok((request, body)),
            other => Err(other),
        }
    }
}

/// Where a client's messages that are not replies go.
pub type OthersHandler<E> = Box<dyn Fn(NodeId, E) + Send + Sync>;

pub struct RaftClient<S: StateMachine, E: Envelope<S> = RaftMsg<S>> {
    mesh: Mesh,
    waiters: Waiters<S>,
    state: Arc<Mutex<ClientState>>,
    envelope: PhantomData<fn() -> E>,
}

impl<S: StateMachine, E: Envelope<S>> Clone for RaftClient<S, E> {
    fn clone(&self) -> Self {
        RaftClient {
            mesh: self.mesh.clone(),
            waiters: self.waiters.clone(),
            state: self.state.clone(),
            envelope: PhantomData,
        }
    }
}

struct ClientState {
    next_request: RequestId,
    retry: RaftRetry,
    addresses: BTreeMap<NodeId, SocketAddr>,
}

impl ClientState {
    fn members(&self) -> Vec<NodeId> {
        self.addresses.keys().copied().collect()
    }
}

impl<S: StateMachine> RaftClient<S> {
    /// Binds a client endpoint on loopback and points it at one server.
    pub async fn connect(
        identity: NodeIdentity,
        server: NodeId,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let ignore: OthersHandler<RaftMsg<S>> = Box::new(|from, other| {
            debug!(from, kind = other.kind(), "ignored non-reply");
        });
        Self::connect_with(identity, server, addr, ignore).await
    }
}

impl<S: StateMachine, E: Envelope<S>> RaftClient<S, E> {
    /// Binds a client endpoint on loopback, points it at one server, and hands every
    /// message that is not a reply to `others`.
    pub async fn connect_with(
        identity: NodeIdentity,
        server: NodeId,
        addr: SocketAddr,
        others: OthersHandler<E>,
    ) -> anyhow::Result<Self> {
        let (mesh, inbound) = Mesh::bind_client(identity, server, addr).await?;
        let waiters: Waiters<S> = Arc::default();
        tokio::spawn(dispatch::<S, E>(inbound, waiters.clone(), others));
        // Request ids grow across runs of the same identity, as sessions require.
        let epoch_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let state = ClientState {
            next_request: epoch_ns,
            retry: RaftRetry::new(server),
            addresses: BTreeMap::from([(server, addr)]),
        };
        Ok(RaftClient {
            mesh,
            waiters,
            state: Arc::new(Mutex::new(state)),
            envelope: PhantomData,
        })
    }

    /// The mesh this client sends on, for messages outside Raft's client protocol.
    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    /// The member requests go to now (the leader, as far as the client knows).
    pub fn target(&self) -> NodeId {
        lock(&self.state).retry.target()
    }

    /// A fresh request id (ids grow across runs of one identity, as sessions require).
    pub fn next_request(&self) -> RequestId {
        let mut state = lock(&self.state);
        state.next_request += 1;
        state.next_request
    }

    /// Sends one request to `node` and waits for its reply (no retry, no redirection).
    pub async fn ask(
        &self,
        node: NodeId,
        body: ClientRequest<S>,
    ) -> anyhow::Result<ClientReply<S>> {
        let request = self.next_request();
        self.attempt(node, request, &body).await
    }

    async fn attempt(
        &self,
        node: NodeId,
        request: RequestId,
        body: &ClientRequest<S>,
    ) -> anyhow::Result<ClientReply<S>> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(request, tx);
        let frame = codec::encode(&E::request(request, body.clone()))?;
        if let Err(e) = self.mesh.send(node, frame) {
            lock(&self.waiters).remove(&request);
            bail!("cannot send to {node}: {e:?}");
        }
        let waited = tokio::time::timeout(Duration::from_millis(REQUEST_ATTEMPT_MS_MAX), rx).await;
        lock(&self.waiters).remove(&request);
        match waited {
            Ok(Ok((_, reply))) => Ok(reply),
            Ok(Err(_)) => bail!("client shut down"),
            Err(_) => bail!("no reply from {node} within {REQUEST_ATTEMPT_MS_MAX} ms"),
        }
    }

    /// Sends a request to the leader, following redirections and retrying with the same
    /// request id until it is answered or the attempts run out.
    pub async fn request(&self, body: ClientRequest<S>) -> anyhow::Result<ClientReply<S>> {
        let request = self.next_request();
        let mut last_error = anyhow!("no attempt made");
        for attempt in 0..REQUEST_ATTEMPTS_MAX {
            let target = self.target();
            let refusal = match self.attempt(target, request, &body).await {
                Ok(ClientReply::Refused(refusal)) => refusal,
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    debug!(target, attempt, error = %e, "no answer");
                    {
                        let mut state = lock(&self.state);
                        let members = state.members();
                        state.retry.on_silence(&members, target);
                    }
                    tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
                    last_error = e;
                    continue;
                }
            };
            if let Refusal::NotLeader {
                leader: Some(leader),
            } = refusal
            {
                if !lock(&self.state).addresses.contains_key(&leader) {
                    self.learn_addresses(target).await;
                }
            }
            let next = {
                let mut state = lock(&self.state);
                let members = state.members();
                state.retry.on_refusal(&members, target, &refusal)
            };
            debug!(target, ?refusal, attempt, ?next, "refused");
            last_error = anyhow!("member {target} refused: {refusal:?}");
            match next {
                NextAttempt::Now => {}
                NextAttempt::AfterPause => {
                    tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
                }
                NextAttempt::GiveUp => return Ok(ClientReply::Refused(refusal)),
            }
        }
        Err(last_error.context(format!("gave up after {REQUEST_ATTEMPTS_MAX} attempts")))
    }

    /// Points requests at the named leader, or at the next known member.
    pub async fn follow(&self, leader: Option<NodeId>) {
        if let Some(leader) = leader {
            if !lock(&self.state).addresses.contains_key(&leader) {
                let current = self.target();
                self.learn_addresses(current).await;
            }
        }
        let mut state = lock(&self.state);
        let members = state.members();
        state.retry.follow(&members, leader);
    }

    /// Learns member addresses from a server's status.
    async fn learn_addresses(&self, from: NodeId) {
        if let Ok(status) = self.status(from).await {
            self.remember(&status);
        }
    }

    pub fn remember(&self, status: &RaftStatus) {
        let mut state = lock(&self.state);
        for (id, address) in &status.membership.voters {
            if let Ok(addr) = address.parse::<SocketAddr>() {
                state.addresses.insert(*id, addr);
                self.mesh.set_peer(*id, addr);
            }
        }
    }

    pub async fn status(&self, node: NodeId) -> anyhow::Result<RaftStatus> {
        match self.ask(node, ClientRequest::Status).await? {
            ClientReply::Status(status) => Ok(status),
            other => bail!("unexpected reply to status: {other:?}"),
        }
    }

    /// The servers this client knows of.
    pub fn servers(&self) -> BTreeMap<NodeId, SocketAddr> {
        lock(&self.state).addresses.clone()
    }
}

async fn dispatch<S: StateMachine, E: Envelope<S>>(
    mut inbound: mpsc::Receiver<Inbound>,
    waiters: Waiters<S>,
    others: OthersHandler<E>,
) {
    while let Some(Inbound { from, frame, .. }) = inbound.recv().await {
        match codec::decode::<E>(&frame).map(E::into_reply) {
            Ok(Ok((request, body))) => {
                if let Some(waiter) = lock(&waiters).remove(&request) {
                    let _ = waiter.send((from, body));
                }
            }
            Ok(Err(other)) => others(from, other),
            Err(e) => debug!(from, error = %e, "undecodable reply"),
        }
    }
}
