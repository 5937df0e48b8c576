//! The kubelet's end of log and exec streams: a mesh endpoint with the kubelet's
//! certificate (`system:node:<name>` in `system:nodes`) that says hello to the gateways
//! every [`KUBELET_HELLO_MS`], takes the streams they start, and hands each to a
//! [`StreamServer`] (the kubelet's containers, or a test double). What the server reads
//! and writes goes through a [`StreamPort`], which keeps the window.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use kactor_actors::gateway::streams::{StreamFrame, StreamMsg, StreamStart, StreamStatus};
use kactor_actors::gateway::{ApiError, GatewayMsg, User};
use kactor_actors::kernel::NodeId;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn, Instrument as _};

use crate::codec;
use crate::gateway_client::Link;
use crate::mesh::{Inbound, Mesh};
use crate::pki::NodeIdentity;
use crate::streams::{self, Leg, Ports, StreamPort};
use crate::sync::lock;

/// How often the kubelet says hello: a third of the gateway's patience
/// (`GatewayConfig::kubelet_silence_ticks_max`, 10 s), so one lost hello costs nothing.
pub const KUBELET_HELLO_MS: u64 = 2_000;
/// Streams one kubelet serves at once; past it, new ones are refused with 429.
pub const KUBELET_STREAMS_MAX: usize = 256;

/// What a kubelet does with a stream: `accept` it (or `end` it with an error at once),
/// then read and write through the port until it is done, and `end` it with the
/// command's status. A stream the server drops without ending is cancelled.
pub trait StreamServer: Send + Sync + 'static {
    fn serve(&self, start: StreamStart, port: StreamPort) -> impl Future<Output = ()> + Send;
}

/// A kubelet's stream endpoint; dropping it leaves the mesh.
pub struct KubeletStreams {
    mesh: Mesh,
    registered: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for KubeletStreams {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl KubeletStreams {
    /// Joins the mesh with `identity` and serves the streams `gateways` start.
    pub async fn join<S: StreamServer>(
        identity: NodeIdentity,
        gateways: Vec<(NodeId, SocketAddr)>,
        server: Arc<S>,
    ) -> anyhow::Result<KubeletStreams> {
        let Some(&(first, toward)) = gateways.first() else {
            bail!("a kubelet needs a gateway");
        };
        let (mesh, inbound) = Mesh::bind_client(identity, first, toward).await?;
        for (id, addr) in &gateways {
            mesh.set_peer(*id, *addr);
        }
        let (registered_tx, registered) = watch::channel(false);
        let ids: Vec<NodeId> = gateways.iter().map(|(id, _)| *id).collect();
        let hello = tokio::spawn(say_hello(mesh.clone(), ids));
        let serve = tokio::spawn(
            serve_streams(mesh.clone(), inbound, server, registered_tx)
                .instrument(tracing::info_span!("kubelet_streams")),
        );
        Ok(KubeletStreams {
            mesh,
            registered,
            tasks: vec![hello, serve],
        })
    }

    /// Waits until a gateway has welcomed this kubelet.
    pub async fn wait_registered(&self, within: Duration) -> anyhow::Result<()> {
        let mut registered = self.registered.clone();
        let welcomed = tokio::time::timeout(within, registered.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok());
        if !welcomed {
            bail!("no gateway welcomed the kubelet within {within:?}");
        }
        Ok(())
    }

    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }
}

async fn say_hello(mesh: Mesh, gateways: Vec<NodeId>) {
    let mut every = tokio::time::interval(Duration::from_millis(KUBELET_HELLO_MS));
    loop {
        every.tick().await;
        // The gateway's host names the user from our certificate.
        let hello = GatewayMsg::Stream(StreamMsg::Hello {
            user: User::default(),
        });
        let frame = match codec::encode(&hello) {
            Ok(frame) => frame,
            Err(e) => return warn!(error = %e, "a hello does not encode"),
        };
        for gateway in &gateways {
            if let Err(e) = mesh.send(*gateway, frame.clone()) {
                debug!(gateway, error = ?e, "hello not sent");
            }
        }
    }
}

async fn serve_streams<S: StreamServer>(
    mesh: Mesh,
    mut inbound: mpsc::Receiver<Inbound>,
    server: Arc<S>,
    registered: watch::Sender<bool>,
) {
    let ports: Ports = Arc::default();
    while let Some(Inbound { from, frame, .. }) = inbound.recv().await {
        let msg = match codec::decode::<GatewayMsg>(&frame) {
            Ok(GatewayMsg::Stream(msg)) => msg,
            Ok(other) => {
                debug!(from, kind = other.kind(), "not a stream message; ignored");
                continue;
            }
            Err(e) => {
                warn!(from, error = %e, "undecodable frame from a gateway");
                continue;
            }
        };
        let kind = msg.kind();
        let _span = tracing::debug_span!("message", actor = "kubelet", peer = from, kind).entered();
        match msg {
            StreamMsg::Welcome { node } => {
                debug!(node, "welcomed");
                registered.send_replace(true);
            }
            StreamMsg::Start { id, start } => {
                let link = Link::Mesh {
                    mesh: mesh.clone(),
                    gateway: from,
                };
                start_stream(&server, &ports, link, (from, id), start);
            }
            StreamMsg::Kubelet { id, frame } => {
                let is_end = matches!(frame, StreamFrame::End { .. });
                if !streams::route_frame(&ports, (from, id), frame) && !is_end {
                    // A stream we do not know (ended here, or from before a restart).
                    let link = Link::Mesh {
                        mesh: mesh.clone(),
                        gateway: from,
                    };
                    let end = StreamFrame::End {
                        status: StreamStatus::Cancelled,
                    };
                    let _ =
                        link.transmit(GatewayMsg::Stream(StreamMsg::Kubelet { id, frame: end }));
                }
            }
            other => debug!(
                kind = other.kind(),
                "a stream message a kubelet does not take"
            ),
        }
    }
}

fn start_stream<S: StreamServer>(
    server: &Arc<S>,
    ports: &Ports,
    link: Link,
    key: (NodeId, u64),
    start: StreamStart,
) {
    if lock(ports).contains_key(&key) {
        return; // a repeated start
    }
    let busy = lock(ports).len() >= KUBELET_STREAMS_MAX;
    let registration = streams::register(ports, key);
    let mut port = StreamPort::new(Leg::Kubelet, link, registration, ports.clone(), false);
    if busy {
        let error = ApiError::too_many_requests("the kubelet serves too many streams".into());
        return port.end(StreamStatus::Failed(error));
    }
    let span = tracing::info_span!(
        "stream",
        id = key.1,
        kind = start.kind.name(),
        pod = %start.pod,
        container = %start.container
    );
    let server = server.clone();
    tokio::spawn(async move { server.serve(start, port).await }.instrument(span));
}
