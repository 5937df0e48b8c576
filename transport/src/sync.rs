//! The loom shim for host-side shared memory (tokio's `crate::loom` pattern).
//!
//! Under `--cfg kactor_loom` every lock, condition variable, atomic and thread below is loom's
//! instrumented twin, so loom can explore their interleavings; otherwise they are std's.
//! Invariant: host code that shares memory between threads imports from `crate::sync`,
//! never from `std::sync` or `std::thread` directly.

#[cfg(kactor_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};
#[cfg(kactor_loom)]
#[allow(unused_imports)]
pub(crate) use loom::thread;

#[cfg(not(kactor_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};
#[cfg(not(kactor_loom))]
#[allow(unused_imports)]
pub(crate) use std::thread;

/// Locks `mutex`, recovering the guard if a panicking thread poisoned it: every critical
/// section in this crate keeps its invariants at each unlock point, and a poisoned lock must
/// not turn one bug into a cascade of panics in unrelated threads.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits on `condvar`, with the same poison policy as [`lock`].
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
