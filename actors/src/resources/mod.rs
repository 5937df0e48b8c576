//! The Kubernetes resource model, shared by every actor. Object types are
//! `k8s-openapi`'s (JSON names and shapes identical to Kubernetes, so a manifest written
//! for Kubernetes loads unchanged); this module adds what that crate leaves to the
//! server: the table of served types, quantities, and label and field selectors.

pub use k8s_openapi;

pub mod quantity;
pub mod registry;
pub mod selector;
