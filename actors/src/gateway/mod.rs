//! The `gateway` actor: kactor's kube-apiserver. See `actor.rs` for the actor,
//! `calls.rs` for how each verb reaches the store, `serve.rs` for list and watch from
//! the cache, `admission.rs`, `rbac.rs` and `validation.rs` for what a request must pass,
//! `ownership.rs` for managedFields and server-side apply.

mod actor;
pub mod admission;
pub mod allocation;
pub mod api;
pub mod authn;
#[cfg(test)]
mod authn_tests;
pub mod bootstrap;
pub mod cache;
mod calls;
mod collector;
mod deletion;
pub mod health;
pub mod object;
mod ownership;
pub mod rbac;
mod reviews;
pub mod secrets;
mod serve;
#[cfg(test)]
mod sim_tests;
pub mod streams;
#[cfg(test)]
mod streams_tests;
#[cfg(test)]
mod tests;
pub mod tokens;

pub use self::actor::*;
pub use self::api::*;
pub use self::authn::{Credentials, Impersonation, Requester};
