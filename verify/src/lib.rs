//! kactor's checks of the running system: benchmarks (Raft, and the store beside etcd);
//! history checkers and fault injection follow (see ARCHITECTURE.md).

pub mod bench;
pub mod cluster;
#[cfg(feature = "etcd")]
mod etcd_peer;
pub mod gateway_bench;
pub mod gateway_verify;
pub mod kubectl;
pub mod kubectl_bench;
pub mod kubelet_double;
pub mod linearizability;
pub mod store_bench;
pub mod store_verify;
