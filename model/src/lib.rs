//! kactor's models: the real actors from `kactor-actors`, composed under stateright with
//! the properties that must always (or sometimes) hold.
//!
//! Architecture Invariant: a model never re-implements protocol logic. It runs the
//! production handlers through [`adapter`], and only adds clients, histories and
//! properties around them.

pub mod adapter;
pub mod check;
pub mod gateway;
pub mod raft;
pub mod raft_client;
pub mod readable;
pub mod sorted;
pub mod store;
