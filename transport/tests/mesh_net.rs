//! The QUIC mesh over loopback: delivery and order, mutual TLS refusal, malformed frames,
//! and reconnects.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kactor_transport::frame::FRAME_HEADER_BYTES;
use kactor_transport::mesh::{Inbound, Mesh, MeshConfig, SendError, CLOSE_CODE_BAD_FRAME};
use kactor_transport::pki::{ClusterCa, NodeIdentity};
use quinn::crypto::rustls::QuicClientConfig;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

const LOOPBACK_ANY: &str = "127.0.0.1:0";
/// Every wait in these tests is bounded by this, so a hang fails instead of blocking.
const WAIT: Duration = Duration::from_secs(5);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn bind(ca: &ClusterCa, node_id: u64, listen: SocketAddr) -> (Mesh, Receiver<Inbound>) {
    let identity = ca
        .issue(&format!("node-{node_id}"), node_id, &[])
        .expect("issue");
    bind_with(identity, node_id, listen).await
}

async fn bind_with(
    identity: NodeIdentity,
    node_id: u64,
    listen: SocketAddr,
) -> (Mesh, Receiver<Inbound>) {
    Mesh::bind(MeshConfig {
        node_id,
        listen,
        identity,
    })
    .await
    .expect("bind")
}

fn any_port() -> SocketAddr {
    LOOPBACK_ANY.parse().expect("addr")
}

async fn recv(rx: &mut Receiver<Inbound>) -> Inbound {
    timeout(WAIT, rx.recv())
        .await
        .expect("frame within timeout")
        .expect("channel open")
}

/// Sends `frame` from `mesh` to `to` every 50 ms until `rx` yields a frame from `from`.
async fn send_until_received(
    mesh: &Mesh,
    to: u64,
    rx: &mut Receiver<Inbound>,
    from: u64,
    frame: &[u8],
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no frame from {from} within {WAIT:?}"
        );
        let _ = mesh.send(to, frame.to_vec());
        if let Ok(Some(got)) = timeout(Duration::from_millis(50), rx.recv()).await {
            if got.from == from {
                return;
            }
        }
    }
}

/// A message larger than one frame (a snapshot of a big store) crosses as fragments and
/// arrives whole, in order with the small messages around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_a_frame_arrives_whole() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (a, _a_rx) = bind(&ca, 1, any_port()).await;
    let (b, mut b_rx) = bind(&ca, 2, any_port()).await;
    a.set_peer(2, b.local_addr());
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    a.send(2, b"before".to_vec()).expect("small");
    a.send(2, big.clone()).expect("big");
    a.send(2, b"after".to_vec()).expect("small");
    assert_eq!(recv(&mut b_rx).await.frame, b"before");
    assert_eq!(recv(&mut b_rx).await.frame, big);
    assert_eq!(recv(&mut b_rx).await.frame, b"after");
    let too_big = vec![0u8; kactor_transport::frame::MESSAGE_BYTES_MAX + 1];
    assert!(matches!(
        a.send(2, too_big),
        Err(SendError::TooLarge { .. })
    ));
    a.shutdown().await;
    b.shutdown().await;
}

/// Fault injection: a cut link drops frames until it is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_drops_frames_until_restored() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (a, _a_rx) = bind(&ca, 1, any_port()).await;
    let (b, mut b_rx) = bind(&ca, 2, any_port()).await;
    a.set_peer(2, b.local_addr());
    a.set_blocked([2].into());
    a.send(2, b"lost".to_vec())
        .expect("a cut link loses frames quietly");
    assert!(timeout(Duration::from_millis(500), b_rx.recv())
        .await
        .is_err());
    assert_eq!(a.stats().frames_dropped, 1);
    a.set_blocked(Default::default());
    a.send(2, b"through".to_vec()).expect("restored");
    assert_eq!(recv(&mut b_rx).await.frame, b"through");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_meshes_exchange_frames_in_order_both_ways() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (a, mut a_rx) = bind(&ca, 1, any_port()).await;
    let (b, mut b_rx) = bind(&ca, 2, any_port()).await;
    a.set_peer(2, b.local_addr());
    b.set_peer(1, a.local_addr());
    const FRAMES: u32 = 1000;
    for i in 0..FRAMES {
        a.send(2, i.to_be_bytes().to_vec()).expect("a sends");
        b.send(1, (i + FRAMES).to_be_bytes().to_vec())
            .expect("b sends");
    }
    for i in 0..FRAMES {
        let at_b = recv(&mut b_rx).await;
        assert_eq!((at_b.from, at_b.frame), (1, i.to_be_bytes().to_vec()));
        let at_a = recv(&mut a_rx).await;
        assert_eq!(
            (at_a.from, at_a.frame),
            (2, (i + FRAMES).to_be_bytes().to_vec())
        );
    }
    assert_eq!(a.send(99, vec![1]), Err(SendError::UnknownPeer(99)));
    assert_eq!(a.stats().frames_sent, u64::from(FRAMES));
    assert_eq!(b.stats().frames_received, u64::from(FRAMES));
    a.shutdown().await;
    b.shutdown().await;
    assert_eq!(a.send(2, vec![1]), Err(SendError::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_with_certificate_from_another_ca_is_refused() {
    init_tracing();
    let ca = ClusterCa::create("good").expect("ca");
    let other = ClusterCa::create("evil").expect("other ca");
    let (server, mut rx) = bind(&ca, 1, any_port()).await;

    // Rogue 1: everything from another CA (fails both ways).
    let (rogue1, _r1) = bind(&other, 66, any_port()).await;
    // Rogue 2: trusts our CA (so it accepts the server) but presents a foreign cert: only
    // the server's client verification stands between it and the mesh.
    let foreign = other.issue("node-67", 67, &[]).expect("issue");
    let sly = NodeIdentity {
        ca_cert_pem: ca.cert_pem.clone(),
        ..foreign
    };
    let (rogue2, _r2) = bind_with(sly, 67, any_port()).await;
    for rogue in [&rogue1, &rogue2] {
        rogue.set_peer(1, server.local_addr());
        for i in 0..10u8 {
            rogue.send(1, vec![i]).expect("queued");
        }
    }
    let nothing = timeout(Duration::from_millis(1500), rx.recv()).await;
    assert!(nothing.is_err(), "a rogue frame arrived: {nothing:?}");
    assert!(server.stats().connections_refused >= 1);

    let (good, _g) = bind(&ca, 2, any_port()).await;
    good.set_peer(1, server.local_addr());
    good.send(1, b"hello".to_vec()).expect("send");
    let got = recv(&mut rx).await;
    assert_eq!((got.from, got.frame.as_slice()), (2, &b"hello"[..]));
    for mesh in [server, rogue1, rogue2, good] {
        mesh.shutdown().await;
    }
}

/// A raw quinn client holding a valid cluster certificate, for sending arbitrary bytes.
async fn raw_client(
    identity: &NodeIdentity,
    server: SocketAddr,
    server_id: u64,
) -> (quinn::Endpoint, quinn::Connection) {
    let crypto =
        QuicClientConfig::try_from(identity.client_config().expect("client config")).expect("quic");
    let mut endpoint = quinn::Endpoint::client(any_port()).expect("client endpoint");
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connecting = endpoint
        .connect(server, &format!("kactor-node-{server_id}"))
        .expect("connect");
    let conn = timeout(WAIT, connecting)
        .await
        .expect("handshake in time")
        .expect("handshake");
    (endpoint, conn)
}

async fn assert_closed_for_bad_frame(conn: &quinn::Connection) {
    let reason = timeout(WAIT, conn.closed())
        .await
        .expect("connection closed in time");
    match reason {
        quinn::ConnectionError::ApplicationClosed(close) => {
            assert_eq!(
                close.error_code,
                quinn::VarInt::from_u32(CLOSE_CODE_BAD_FRAME)
            );
        }
        other => panic!("expected an application close, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_header_closes_only_that_connection() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (server, mut rx) = bind(&ca, 1, any_port()).await;
    let evil = ca.issue("node-9", 9, &[]).expect("issue");
    let (_endpoint, conn) = raw_client(&evil, server.local_addr(), 1).await;
    let mut stream = conn.open_uni().await.expect("stream");
    let announced: u32 = 16 * 1024 * 1024;
    assert_eq!(announced.to_be_bytes().len(), FRAME_HEADER_BYTES);
    stream
        .write_all(&announced.to_be_bytes())
        .await
        .expect("header");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let _ = stream.write_all(&garbage).await;
    assert_closed_for_bad_frame(&conn).await;
    assert!(server.stats().frames_bad >= 1);

    let (good, _g) = bind(&ca, 2, any_port()).await;
    good.set_peer(1, server.local_addr());
    send_until_received(&good, 1, &mut rx, 2, b"still serving").await;
    good.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_frame_reported_by_caller_closes_that_connection() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (server, mut rx) = bind(&ca, 1, any_port()).await;
    let evil = ca.issue("node-9", 9, &[]).expect("issue");
    let (_endpoint, conn) = raw_client(&evil, server.local_addr(), 1).await;
    let mut stream = conn.open_uni().await.expect("stream");
    let garbage: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(151) ^ 0x5a).collect();
    // A whole message (the last-fragment flag, then the bytes) that does not decode.
    let message = [&[kactor_transport::frame::FRAGMENT_LAST][..], &garbage].concat();
    let framed = kactor_transport::frame::encode_frame(&message).expect("frame");
    stream.write_all(&framed).await.expect("write");

    let got = recv(&mut rx).await;
    assert_eq!((got.from, &got.frame), (9, &garbage));
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    enum Expected {
        A(String),
        B(u64),
    }
    let decoded = kactor_transport::codec::decode::<Expected>(&got.frame);
    let error = decoded.expect_err("garbage must not decode");
    server.report_bad_frame(got.from, &error.to_string());
    assert_closed_for_bad_frame(&conn).await;

    let (good, _g) = bind(&ca, 2, any_port()).await;
    good.set_peer(1, server.local_addr());
    send_until_received(&good, 1, &mut rx, 2, b"still serving").await;
    good.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_reconnects_after_receiver_restarts_on_same_port() {
    init_tracing();
    let ca = ClusterCa::create("t").expect("ca");
    let (receiver, mut rx) = bind(&ca, 2, any_port()).await;
    let addr = receiver.local_addr();
    let (sender, _s) = bind(&ca, 1, any_port()).await;
    sender.set_peer(2, addr);
    send_until_received(&sender, 2, &mut rx, 1, b"before").await;

    receiver.shutdown().await;
    drop(receiver);
    drop(rx);
    // The old socket is released once quinn's driver sees the endpoint idle; retry briefly.
    let identity = ca.issue("node-2", 2, &[]).expect("issue");
    let deadline = tokio::time::Instant::now() + WAIT;
    let (receiver, mut rx) = loop {
        let cfg = MeshConfig {
            node_id: 2,
            listen: addr,
            identity: identity.clone(),
        };
        match Mesh::bind(cfg).await {
            Ok(bound) => break bound,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!("rebind: {e:#}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("could not rebind {addr}: {e:#}"),
        }
    };
    assert_eq!(receiver.local_addr(), addr);
    send_until_received(&sender, 2, &mut rx, 1, b"after").await;
    sender.shutdown().await;
    receiver.shutdown().await;
}
