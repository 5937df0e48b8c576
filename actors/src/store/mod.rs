//! The `store` actor: kactor's etcd. An MVCC keyspace replicated by Raft, with watches
//! served from the applied state, leases expired by the leader, and serializable reads.

mod actor;
pub mod api;
pub mod mvcc;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

pub use self::actor::*;
pub use self::api::*;
pub use self::mvcc::Mvcc;
