//! kactor's actors: what each component decides, as pure deterministic state machines.
//!
//! Architecture Invariant: nothing in this crate does IO, reads a clock, spawns a thread
//! or draws a random number. Time arrives as timer inputs; randomness is the host's choice
//! of a point inside a [`kernel::TimerSpan`]. The same code runs under the stateright model
//! checker (`kactor-model`) and in production (`kactor-transport`'s actix host).

pub mod cluster;
pub mod gateway;
pub mod kernel;
#[cfg(test)]
mod kv;
pub mod raft;
pub mod sim;
pub mod store;
pub mod timers;
pub mod watcher;
