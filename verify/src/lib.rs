//! kactor's checks of the running system: benchmarks now; history checkers and fault
//! injection arrive with the store (see ARCHITECTURE.md).

pub mod bench;
