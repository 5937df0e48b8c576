#!/usr/bin/env bash
# kactor's test command (the README's, and what .ci/run calls): formatting, lints, every
# test (unit, property, model, end-to-end), the loom checks, and a bounded model check.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the tests need is the Rust toolchain; say so clearly if it is missing.
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
step "clippy"
cargo clippy --all-targets -- -D warnings
step "tests (release: the model checks explore more states per second)"
cargo test --release --workspace
step "loom (own target dir: --cfg kactor_loom rebuilds everything)"
RUSTFLAGS="--cfg kactor_loom" CARGO_TARGET_DIR=target-loom LOOM_MAX_PREEMPTIONS=2 \
  cargo test --release -p kactor-transport --lib loom_tests
step "bounded model check"
./target/release/kactor check raft --budget "${KACTOR_CHECK_BUDGET:-60}"
