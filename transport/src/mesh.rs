//! The mesh: one QUIC endpoint per process, server and client at once, carrying opaque frames
//! between nodes of one cluster over mutual TLS.
//!
//! Outbound: each peer has a bounded queue drained by one task that keeps one connection and
//! writes frames, in order, on one long-lived unidirectional stream; it reconnects with
//! jittered exponential backoff. A full queue drops the frame (callers are Raft-like protocols
//! that tolerate loss). Frames are in order per connection; after a reconnect the tail of the
//! old connection may interleave with the head of the new one.
//!
//! Inbound: an accept loop verifies each peer (rustls checks the cluster CA), takes the peer's
//! node id from its verified certificate, and reads frames from its uni streams into one
//! bounded channel. A malformed frame, or one the caller reports undecodable through
//! [`Mesh::report_bad_frame`], closes that connection only.
//!
//! Invariant: `Inbound::from` is always taken from a certificate the cluster CA signed.
//! Invariant: frames are not decoded here; the mesh carries bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ConnectionError, VarInt};
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn, Instrument};

use crate::frame::{self, FrameError, Reassembly, MESSAGE_BYTES_MAX};
use crate::metrics::{metrics, DropReason};
// Every critical section on these maps is a single insert, remove or lookup.
use crate::pki::{self, NodeIdentity, NODE_CN_PREFIX};
use crate::sync::{lock, Mutex};

/// Frames queued for one peer before `send` starts dropping: enough to ride out a reconnect
/// (up to RECONNECT_BACKOFF_MS_MAX) under Raft heartbeat and append load, small enough that a
/// dead peer costs bounded memory.
pub const PEER_QUEUE_FRAMES_MAX: usize = 4096;
/// Received frames waiting for the caller. When full, readers stop reading, and QUIC flow
/// control pushes back on the senders instead of us buffering without bound.
pub const INBOUND_FRAMES_MAX: usize = 4096;
/// First reconnect delay: short, so a restarted peer is reached again quickly.
pub const RECONNECT_BACKOFF_MS_MIN: u64 = 50;
/// Longest reconnect delay: a dead peer costs at most one handshake attempt per 2 s.
pub const RECONNECT_BACKOFF_MS_MAX: u64 = 2000;
/// A connection that stayed up this long was healthy, and the next redial starts again at
/// RECONNECT_BACKOFF_MS_MIN. Shorter lives keep backing off: a peer whose TLS accepts our
/// handshake and then refuses our certificate costs one attempt per RECONNECT_BACKOFF_MS_MAX,
/// not a warning flood.
pub const CONNECTION_HEALTHY_MS_MIN: u64 = 1000;
/// Longest wait for an outgoing handshake. Initial packets are retransmitted meanwhile, so a
/// peer that comes back within this window is still reached by the same attempt.
pub const CONNECT_TIMEOUT_MS_MAX: u64 = 5000;
/// Longest wait for an incoming handshake, so a stalled client cannot hold a slot for long.
pub const HANDSHAKE_TIMEOUT_MS_MAX: u64 = 5000;
/// A connection with no packets for this long is dead. Well above the keepalive interval so
/// a few lost keepalives do not kill a healthy link.
pub const IDLE_TIMEOUT_MS: u32 = 10_000;
/// Keepalive interval: keeps idle links (and NAT bindings) open, well under the idle timeout.
pub const KEEPALIVE_INTERVAL_MS: u64 = 2_000;
/// Uni streams a peer may open at once. We use one per connection; the spare ones cover a
/// sender that reopens a stream, and the cap bounds reader tasks per connection.
pub const UNI_STREAMS_CONCURRENT_MAX: u32 = 4;
/// Incoming connections served at once: a cluster has far fewer nodes; this bounds tasks and
/// memory if something connects in a loop.
pub const INCOMING_CONNECTIONS_MAX: usize = 1024;
/// Peers the mesh will dial: far above any cluster size, bounds tasks and queue memory.
pub const PEERS_MAX: usize = 1024;
/// How long `shutdown` waits for closing connections to drain before returning.
pub const SHUTDOWN_DRAIN_MS_MAX: u64 = 1000;

/// Application close code: the peer sent a malformed or undecodable frame.
pub const CLOSE_CODE_BAD_FRAME: u32 = 1;
/// Application close code: this mesh is shutting down, or the peer was removed.
pub const CLOSE_CODE_SHUTDOWN: u32 = 2;
/// Application close code: the peer's certificate names no (or the wrong) node id.
pub const CLOSE_CODE_BAD_IDENTITY: u32 = 3;
/// Application close code: the peer's address changed and we redial it.
pub const CLOSE_CODE_REDIAL: u32 = 4;

pub struct MeshConfig {
    pub node_id: u64,
    pub listen: SocketAddr,
    pub identity: NodeIdentity,
}

/// One received frame. `from` is the node id in the peer's verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub from: u64,
    /// The peer's UDP address: its one endpoint both dials and listens, so replies can
    /// be sent back here (this is how a client with no configured address is answered).
    pub addr: SocketAddr,
    /// The subject of the peer's verified certificate (who it is beyond its node id).
    pub subject: Arc<pki::Subject>,
    pub frame: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no address known for node {0}")]
    UnknownPeer(u64),
    #[error("queue to node {to} is full ({PEER_QUEUE_FRAMES_MAX} frames); frame dropped")]
    QueueFull { to: u64 },
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("mesh is shut down")]
    Closed,
}

/// Counters, for metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MeshStats {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub frames_dropped: u64,
    pub frames_bad: u64,
    pub connections_refused: u64,
}

#[derive(Default)]
struct Counters {
    frames_sent: AtomicU64,
    frames_received: AtomicU64,
    frames_dropped: AtomicU64,
    frames_bad: AtomicU64,
    connections_refused: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a dropped frame here and in the process's metrics.
    fn dropped(&self, reason: DropReason) {
        Counters::bump(&self.frames_dropped);
        metrics().frame_dropped(reason);
    }

    fn sent(&self) {
        Counters::bump(&self.frames_sent);
        metrics().kactor_mesh_frames_sent_total.inc();
    }

    fn received(&self) {
        Counters::bump(&self.frames_received);
        metrics().kactor_mesh_frames_received_total.inc();
    }

    fn bad(&self) {
        Counters::bump(&self.frames_bad);
        metrics().frame_dropped(DropReason::Malformed);
    }

    fn refused(&self) {
        Counters::bump(&self.connections_refused);
        metrics().kactor_mesh_connections_refused_total.inc();
    }
}

/// Holds one `kactor_mesh_connections` slot for as long as a connection is open.
struct ConnectionGauge(&'static str);

impl ConnectionGauge {
    fn open(direction: &'static str) -> ConnectionGauge {
        metrics()
            .kactor_mesh_connections
            .with_label_values(&[direction])
            .inc();
        ConnectionGauge(direction)
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics()
            .kactor_mesh_connections
            .with_label_values(&[self.0])
            .dec();
    }
}

/// Incoming connections by peer node id, so `report_bad_frame` can close them.
type IncomingMap = Arc<Mutex<BTreeMap<u64, Vec<quinn::Connection>>>>;

struct PeerHandle {
    addr: watch::Sender<SocketAddr>,
    queue: mpsc::Sender<Vec<u8>>,
    task: JoinHandle<()>,
}

struct Inner {
    node_id: u64,
    local_addr: SocketAddr,
    endpoint: quinn::Endpoint,
    peers: Mutex<BTreeMap<u64, PeerHandle>>,
    incoming: IncomingMap,
    accept_task: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    counters: Arc<Counters>,
    /// Peers whose frames `send` drops, as a cut link would (fault injection in tests).
    blocked: Mutex<BTreeSet<u64>>,
}

/// Handle to the process's mesh. Cloning is cheap; the mesh stops when `shutdown` is called
/// or the last handle is dropped.
#[derive(Clone)]
pub struct Mesh {
    inner: Arc<Inner>,
}

fn transport_config() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(VarInt::from_u32(IDLE_TIMEOUT_MS).into()));
    t.keep_alive_interval(Some(Duration::from_millis(KEEPALIVE_INTERVAL_MS)));
    t.max_concurrent_uni_streams(VarInt::from_u32(UNI_STREAMS_CONCURRENT_MAX));
    t.max_concurrent_bidi_streams(VarInt::from_u32(0));
    // Frames travel on streams only; refuse unreliable datagrams outright.
    t.datagram_receive_buffer_size(None);
    t
}

impl Mesh {
    /// Binds the endpoint on `cfg.listen` and starts accepting. Frames from peers arrive on
    /// the returned receiver.
    /// A client's endpoint: its certificate's identity, bound on loopback (on the family
    /// of `toward`), with `server` known at `toward`.
    pub async fn bind_client(
        identity: crate::pki::NodeIdentity,
        server: u64,
        toward: SocketAddr,
    ) -> anyhow::Result<(Mesh, mpsc::Receiver<Inbound>)> {
        let node_id = identity
            .node_id()
            .ok_or_else(|| anyhow::anyhow!("client certificate has no node id"))?;
        let listen = if toward.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        };
        let config = MeshConfig {
            node_id,
            listen: listen.parse().expect("literal address"),
            identity,
        };
        let (mesh, inbound) = Mesh::bind(config).await?;
        mesh.set_peer(server, toward);
        Ok((mesh, inbound))
    }

    pub async fn bind(cfg: MeshConfig) -> anyhow::Result<(Mesh, mpsc::Receiver<Inbound>)> {
        let cert_id = cfg
            .identity
            .node_id()
            .context("identity has no kactor node id")?;
        if cert_id != cfg.node_id {
            bail!(
                "identity is for node {cert_id}, config says node {}",
                cfg.node_id
            );
        }
        let transport = Arc::new(transport_config());
        let server_crypto = QuicServerConfig::try_from(cfg.identity.server_config()?)?;
        let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server_config.transport_config(transport.clone());
        let client_crypto = QuicClientConfig::try_from(cfg.identity.client_config()?)?;
        let mut client_config = quinn::ClientConfig::new(Arc::new(client_crypto));
        client_config.transport_config(transport);
        let mut endpoint = quinn::Endpoint::server(server_config, cfg.listen)
            .with_context(|| format!("bind QUIC endpoint on {}", cfg.listen))?;
        endpoint.set_default_client_config(client_config);
        let local_addr = endpoint.local_addr()?;

        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_FRAMES_MAX);
        let counters = Arc::new(Counters::default());
        let incoming: IncomingMap = Arc::default();
        let acceptor = Acceptor {
            endpoint: endpoint.clone(),
            inbound_tx,
            incoming: incoming.clone(),
            counters: counters.clone(),
        };
        let span = tracing::info_span!("mesh", node = cfg.node_id, %local_addr);
        let accept_task = tokio::spawn(acceptor.run().instrument(span));
        info!(node = cfg.node_id, %local_addr, "mesh bound");
        let inner = Inner {
            node_id: cfg.node_id,
            local_addr,
            endpoint,
            peers: Mutex::default(),
            incoming,
            accept_task: Mutex::new(Some(accept_task)),
            closed: AtomicBool::new(false),
            counters,
            blocked: Mutex::default(),
        };
        Ok((
            Mesh {
                inner: Arc::new(inner),
            },
            inbound_rx,
        ))
    }

    pub fn node_id(&self) -> u64 {
        self.inner.node_id
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    pub fn stats(&self) -> MeshStats {
        let c = &self.inner.counters;
        MeshStats {
            frames_sent: c.frames_sent.load(Ordering::Relaxed),
            frames_received: c.frames_received.load(Ordering::Relaxed),
            frames_dropped: c.frames_dropped.load(Ordering::Relaxed),
            frames_bad: c.frames_bad.load(Ordering::Relaxed),
            connections_refused: c.connections_refused.load(Ordering::Relaxed),
        }
    }

    /// Adds a peer, or updates its address (its connection is then redialed).
    pub fn set_peer(&self, id: u64, addr: SocketAddr) {
        if self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        let mut peers = lock(&self.inner.peers);
        if let Some(peer) = peers.get(&id) {
            peer.addr.send_if_modified(|current| {
                let changed = *current != addr;
                *current = addr;
                changed
            });
            return;
        }
        if peers.len() >= PEERS_MAX {
            warn!(peer = id, %addr, peers_max = PEERS_MAX, "too many peers; not adding");
            return;
        }
        let (addr_tx, addr_rx) = watch::channel(addr);
        let (queue_tx, queue_rx) = mpsc::channel(PEER_QUEUE_FRAMES_MAX);
        let writer = PeerWriter {
            peer_id: id,
            endpoint: self.inner.endpoint.clone(),
            addr_rx,
            queue_rx,
            counters: self.inner.counters.clone(),
        };
        let span = tracing::info_span!("mesh_peer", node = self.inner.node_id, peer = id);
        let task = tokio::spawn(writer.run().instrument(span));
        peers.insert(
            id,
            PeerHandle {
                addr: addr_tx,
                queue: queue_tx,
                task,
            },
        );
        assert!(peers.len() <= PEERS_MAX);
    }

    /// Frames waiting in every peer's outbound queue.
    pub fn queued_frames(&self) -> usize {
        let peers = lock(&self.inner.peers);
        let queued = peers
            .values()
            .map(|peer| peer.queue.max_capacity() - peer.queue.capacity())
            .sum();
        assert!(queued <= peers.len() * PEER_QUEUE_FRAMES_MAX);
        queued
    }

    /// Whether `id` has an address (and an outgoing queue).
    pub fn has_peer(&self, id: u64) -> bool {
        lock(&self.inner.peers).contains_key(&id)
    }

    /// Forgets a peer: its queued frames are dropped and its outgoing connection closed.
    pub fn remove_peer(&self, id: u64) {
        let removed = lock(&self.inner.peers).remove(&id);
        if let Some(peer) = removed {
            peer.task.abort();
        }
    }

    /// Cuts the links to `peers` (and restores every other): frames to them are dropped.
    /// For fault injection: a partition is each side cutting its links to the other.
    pub fn set_blocked(&self, peers: BTreeSet<u64>) {
        let mut blocked = lock(&self.inner.blocked);
        if *blocked != peers {
            warn!(?peers, "fault injection: links cut");
            *blocked = peers;
        }
    }

    /// Queues message `frame` for node `to` (sent as one frame, or as fragments when it
    /// is larger). Never blocks: a full queue drops the message.
    pub fn send(&self, to: u64, frame: Vec<u8>) -> Result<(), SendError> {
        if frame.len() > MESSAGE_BYTES_MAX {
            self.inner.counters.dropped(DropReason::TooLarge);
            return Err(SendError::TooLarge {
                len: frame.len(),
                max: MESSAGE_BYTES_MAX,
            });
        }
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        if lock(&self.inner.blocked).contains(&to) {
            self.inner.counters.dropped(DropReason::Blocked);
            return Ok(()); // lost on a cut link, as the network would lose it
        }
        let peers = lock(&self.inner.peers);
        let peer = peers.get(&to).ok_or(SendError::UnknownPeer(to))?;
        match peer.queue.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.inner.counters.dropped(DropReason::QueueFull);
                debug!(peer = to, "peer queue full; frame dropped");
                Err(SendError::QueueFull { to })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// The caller could not decode a frame from `from`: close that peer's incoming
    /// connection(s). The peer's writer will reconnect; if it keeps sending garbage, it keeps
    /// getting cut off, and everyone else is unaffected.
    pub fn report_bad_frame(&self, from: u64, reason: &str) {
        self.inner.counters.bad();
        let conns = lock(&self.inner.incoming).remove(&from).unwrap_or_default();
        warn!(
            peer = from,
            reason,
            connections = conns.len(),
            "undecodable frame; closing"
        );
        for conn in conns {
            conn.close(VarInt::from_u32(CLOSE_CODE_BAD_FRAME), b"undecodable frame");
        }
    }

    /// Stops all tasks, closes every connection and waits (bounded) for them to drain.
    pub async fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let tasks = self.inner.stop_tasks();
        for task in tasks {
            let _ = task.await;
        }
        let drain = Duration::from_millis(SHUTDOWN_DRAIN_MS_MAX);
        let _ = tokio::time::timeout(drain, self.inner.endpoint.wait_idle()).await;
        info!(node = self.inner.node_id, "mesh shut down");
    }
}

impl Inner {
    /// Aborts every task and closes the endpoint; returns the handles to await.
    fn stop_tasks(&self) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        tasks.extend(lock(&self.accept_task).take());
        tasks.extend(
            std::mem::take(&mut *lock(&self.peers))
                .into_values()
                .map(|p| p.task),
        );
        for task in &tasks {
            task.abort();
        }
        self.endpoint
            .close(VarInt::from_u32(CLOSE_CODE_SHUTDOWN), b"shutdown");
        lock(&self.incoming).clear();
        tasks
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.stop_tasks();
    }
}

/// The node id in the peer's verified certificate, if it presented one of ours.
fn peer_node_id(conn: &quinn::Connection) -> Option<u64> {
    pki::node_id_of(&peer_certificate(conn)?)
}

fn peer_certificate(conn: &quinn::Connection) -> Option<rustls_pki_types::CertificateDer<'static>> {
    let identity = conn.peer_identity()?;
    let certs = identity
        .downcast::<Vec<rustls_pki_types::CertificateDer<'static>>>()
        .ok()?;
    certs.first().cloned()
}

// ---- outbound ----

struct PeerWriter {
    peer_id: u64,
    endpoint: quinn::Endpoint,
    addr_rx: watch::Receiver<SocketAddr>,
    queue_rx: mpsc::Receiver<Vec<u8>>,
    counters: Arc<Counters>,
}

/// Why a connection's pump stopped.
enum PumpEnd {
    /// The mesh dropped our queue: stop for good.
    QueueClosed,
    /// The peer's address changed: redial at once.
    AddrChanged,
    /// The connection or stream failed: redial after backoff.
    Failed(String),
}

impl PeerWriter {
    async fn run(mut self) {
        let mut backoff_ms = RECONNECT_BACKOFF_MS_MIN;
        // Bounded only by the task's lifetime: it ends when the queue closes or it is aborted.
        loop {
            let addr = *self.addr_rx.borrow_and_update();
            let span = tracing::info_span!("mesh_conn", peer = self.peer_id, %addr, dir = "out");
            let (end, lived) = self.connection(addr).instrument(span.clone()).await;
            if lived >= Duration::from_millis(CONNECTION_HEALTHY_MS_MIN) {
                backoff_ms = RECONNECT_BACKOFF_MS_MIN;
            }
            match end {
                PumpEnd::QueueClosed => return,
                PumpEnd::AddrChanged => continue,
                PumpEnd::Failed(reason) => {
                    span.in_scope(|| debug!(reason, backoff_ms, "connection failed"));
                }
            }
            if !self.backoff(backoff_ms).await {
                return;
            }
            backoff_ms = backoff_ms.saturating_mul(2).min(RECONNECT_BACKOFF_MS_MAX);
            assert!((RECONNECT_BACKOFF_MS_MIN..=RECONNECT_BACKOFF_MS_MAX).contains(&backoff_ms));
        }
    }

    /// One connection's life: dial, then pump frames until it ends. Returns why it ended and
    /// how long it was up.
    async fn connection(&mut self, addr: SocketAddr) -> (PumpEnd, Duration) {
        let (conn, stream) = match self.connect(addr).await {
            Ok(connected) => connected,
            Err(e) => return (PumpEnd::Failed(format!("{e:#}")), Duration::ZERO),
        };
        let connected_at = tokio::time::Instant::now();
        let _open = ConnectionGauge::open("out");
        debug!("connected");
        let end = self.pump(&conn, stream).await;
        let code = match end {
            PumpEnd::AddrChanged => CLOSE_CODE_REDIAL,
            _ => CLOSE_CODE_SHUTDOWN,
        };
        conn.close(VarInt::from_u32(code), b"");
        (end, connected_at.elapsed())
    }

    /// Sleeps a random time in [backoff_ms / 2, backoff_ms] (never under the minimum), so
    /// peers that failed together do not redial together; cut short by an address change.
    /// Returns false if the mesh dropped this peer meanwhile.
    async fn backoff(&mut self, backoff_ms: u64) -> bool {
        let sleep_ms = rand::thread_rng()
            .gen_range(backoff_ms / 2..=backoff_ms)
            .max(RECONNECT_BACKOFF_MS_MIN);
        assert!(sleep_ms <= RECONNECT_BACKOFF_MS_MAX);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => true,
            changed = self.addr_rx.changed() => changed.is_ok(),
        }
    }

    async fn connect(
        &self,
        addr: SocketAddr,
    ) -> anyhow::Result<(quinn::Connection, quinn::SendStream)> {
        // Every node cert carries `kactor-node-<id>` as a DNS SAN: TLS proves who we reached.
        let server_name = format!("{NODE_CN_PREFIX}{}", self.peer_id);
        let connecting = self.endpoint.connect(addr, &server_name)?;
        let timeout = Duration::from_millis(CONNECT_TIMEOUT_MS_MAX);
        let conn = tokio::time::timeout(timeout, connecting)
            .await
            .context("handshake timed out")??;
        let id = peer_node_id(&conn);
        if id != Some(self.peer_id) {
            conn.close(
                VarInt::from_u32(CLOSE_CODE_BAD_IDENTITY),
                b"unexpected node id",
            );
            bail!(
                "peer certificate names node {id:?}, expected {}",
                self.peer_id
            );
        }
        let stream = conn.open_uni().await?;
        Ok((conn, stream))
    }

    /// Writes queued frames to `stream`, in order, until something ends the connection.
    async fn pump(&mut self, conn: &quinn::Connection, mut stream: quinn::SendStream) -> PumpEnd {
        // Bounded by the connection's lifetime; each iteration handles one event.
        loop {
            tokio::select! {
                biased;
                changed = self.addr_rx.changed() => {
                    return if changed.is_ok() { PumpEnd::AddrChanged } else { PumpEnd::QueueClosed };
                }
                error = conn.closed() => return PumpEnd::Failed(error.to_string()),
                next = self.queue_rx.recv() => {
                    let Some(payload) = next else { return PumpEnd::QueueClosed };
                    for fragment in frame::fragments(&payload) {
                        if let Err(e) = frame::write_frame(&mut stream, &fragment).await {
                            return PumpEnd::Failed(format!("write: {e}"));
                        }
                    }
                    self.counters.sent();
                    debug!(bytes = payload.len(), "frame sent");
                }
            }
        }
    }
}

// ---- inbound ----

struct Acceptor {
    endpoint: quinn::Endpoint,
    inbound_tx: mpsc::Sender<Inbound>,
    incoming: IncomingMap,
    counters: Arc<Counters>,
}

impl Acceptor {
    async fn run(self) {
        let mut conns: JoinSet<()> = JoinSet::new();
        // Ends when the endpoint closes; the JoinSet aborts the connection tasks on drop.
        loop {
            tokio::select! {
                incoming = self.endpoint.accept() => {
                    let Some(incoming) = incoming else { break };
                    if conns.len() >= INCOMING_CONNECTIONS_MAX {
                        warn!(addr = %incoming.remote_address(), "too many connections; refused");
                        self.counters.refused();
                        incoming.refuse();
                        continue;
                    }
                    conns.spawn(self.conn_server().serve(incoming));
                    assert!(conns.len() <= INCOMING_CONNECTIONS_MAX);
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        debug!("accept loop ended");
    }

    fn conn_server(&self) -> ConnServer {
        ConnServer {
            inbound_tx: self.inbound_tx.clone(),
            incoming: self.incoming.clone(),
            counters: self.counters.clone(),
        }
    }
}

struct ConnServer {
    inbound_tx: mpsc::Sender<Inbound>,
    incoming: IncomingMap,
    counters: Arc<Counters>,
}

impl ConnServer {
    async fn serve(self, incoming: quinn::Incoming) {
        let addr = incoming.remote_address();
        let Some(conn) = self.handshake(incoming).await else {
            self.counters.refused();
            return;
        };
        let Some(peer) = peer_node_id(&conn) else {
            warn!(%addr, "refused peer: certificate names no kactor node id");
            self.counters.refused();
            conn.close(VarInt::from_u32(CLOSE_CODE_BAD_IDENTITY), b"no node id");
            return;
        };
        let subject = peer_certificate(&conn)
            .and_then(|der| pki::subject_of(&der))
            .unwrap_or_default();
        let subject = Arc::new(subject);
        let span = tracing::info_span!("mesh_conn", peer, %addr, dir = "in");
        let _open = ConnectionGauge::open("in");
        lock(&self.incoming)
            .entry(peer)
            .or_default()
            .push(conn.clone());
        self.read_streams(peer, &subject, &conn)
            .instrument(span)
            .await;
        let mut incoming = lock(&self.incoming);
        if let Some(list) = incoming.get_mut(&peer) {
            list.retain(|c| c.stable_id() != conn.stable_id());
            if list.is_empty() {
                incoming.remove(&peer);
            }
        }
    }

    async fn handshake(&self, incoming: quinn::Incoming) -> Option<quinn::Connection> {
        let addr = incoming.remote_address();
        let timeout = Duration::from_millis(HANDSHAKE_TIMEOUT_MS_MAX);
        let result = match incoming.accept() {
            Ok(connecting) => tokio::time::timeout(timeout, connecting).await,
            Err(e) => Ok(Err(e)),
        };
        match result {
            Ok(Ok(conn)) => Some(conn),
            Ok(Err(e)) => {
                warn!(%addr, error = %e, "refused peer: handshake failed");
                None
            }
            Err(_) => {
                warn!(%addr, "refused peer: handshake timed out");
                None
            }
        }
    }

    async fn read_streams(&self, peer: u64, subject: &Arc<pki::Subject>, conn: &quinn::Connection) {
        debug!("connection accepted");
        let mut streams: JoinSet<()> = JoinSet::new();
        // Ends when the connection does; quinn caps open streams at UNI_STREAMS_CONCURRENT_MAX.
        loop {
            tokio::select! {
                stream = conn.accept_uni() => match stream {
                    Ok(recv) => {
                        let reader = self.stream_reader(peer, subject.clone(), conn.clone());
                        streams.spawn(reader.run(recv).instrument(tracing::Span::current()));
                    }
                    Err(e) => {
                        log_conn_end(&e);
                        break;
                    }
                },
                Some(_) = streams.join_next(), if !streams.is_empty() => {}
            }
        }
    }

    fn stream_reader(
        &self,
        peer: u64,
        subject: Arc<pki::Subject>,
        conn: quinn::Connection,
    ) -> StreamReader {
        StreamReader {
            peer,
            subject,
            conn,
            inbound_tx: self.inbound_tx.clone(),
            counters: self.counters.clone(),
        }
    }
}

fn log_conn_end(e: &ConnectionError) {
    match e {
        ConnectionError::ApplicationClosed(_) | ConnectionError::LocallyClosed => {
            debug!(reason = %e, "connection closed");
        }
        _ => debug!(reason = %e, "connection lost"),
    }
}

struct StreamReader {
    peer: u64,
    subject: Arc<pki::Subject>,
    conn: quinn::Connection,
    inbound_tx: mpsc::Sender<Inbound>,
    counters: Arc<Counters>,
}

impl StreamReader {
    async fn run(self, mut recv: quinn::RecvStream) {
        // Ends at end of stream, on the first bad frame, or when the caller stops receiving.
        let mut reassembly = Reassembly::default();
        loop {
            let message = frame::read_frame(&mut recv)
                .await
                .and_then(|frame| frame.map(|f| reassembly.push(f)).transpose());
            match message {
                Ok(Some(None)) => continue, // a fragment of a larger message
                Ok(Some(Some(payload))) => {
                    assert!(payload.len() <= MESSAGE_BYTES_MAX);
                    debug!(bytes = payload.len(), "frame received");
                    self.counters.received();
                    let inbound = Inbound {
                        from: self.peer,
                        addr: self.conn.remote_address(),
                        subject: self.subject.clone(),
                        frame: payload,
                    };
                    if self.inbound_tx.send(inbound).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                // Stream reset or connection lost: not the peer's frame being bad.
                Err(FrameError::Io(e)) => {
                    debug!(error = %e, "stream ended");
                    return;
                }
                Err(e) => {
                    self.counters.bad();
                    warn!(peer = self.peer, reason = %e, "malformed frame; closing connection");
                    self.conn
                        .close(VarInt::from_u32(CLOSE_CODE_BAD_FRAME), b"malformed frame");
                    return;
                }
            }
        }
    }
}
