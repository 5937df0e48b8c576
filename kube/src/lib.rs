//! Kubernetes' API as a pure library: what a Kubernetes object is and which rules it
//! obeys, apart from who serves it. Object types are `k8s-openapi`'s (JSON names and shapes
//! identical to Kubernetes, so a manifest written for Kubernetes loads unchanged); this
//! crate adds what that crate leaves to the server: the table of served types
//! (`registry`), quantities, label and field selectors and name rules (`selector`),
//! validation and defaulting, JSON, merge and strategic merge patches and apply bodies
//! (`patch`, `yaml`), managed fields and the field schemas that guide them, OpenAPI and
//! discovery documents, Table printers, Status and its reasons, the protobuf codec of
//! kube's wire types, and civil time.
//!
//! Architecture Invariant: nothing here depends on an actor, the transport or any IO; it
//! reads no clock and draws no randomness. The gateway, the HTTPS shell and every later
//! component (the kubelet validates a pod, the scheduler reads quantities) use it.

pub use k8s_openapi;

pub mod defaults;
pub mod discovery;
pub mod field_schema;
pub mod managed_fields;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod registry;
pub mod selector;
pub mod status;
pub mod table;
pub mod time;
pub mod validation;
pub mod yaml;
