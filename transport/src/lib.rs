//! kactor's IO shell. Everything here touches the outside world: UDP sockets (QUIC), TLS,
//! files (the WAL) and the tokio clock. Protocol decisions live in `kactor-actors`; this
//! crate only turns bytes into actor inputs and actor effects into IO.

pub mod client;
pub mod codec;
pub mod frame;
pub mod gateway_client;
pub mod gateway_host;
pub mod host;
pub mod kubelet_streams;
pub mod mesh;
pub mod metrics;
pub mod pki;
pub mod store_client;
pub mod streams;
pub mod sync;
pub mod wal;
