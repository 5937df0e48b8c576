#!/usr/bin/env bash
# kactor's test command (the README's, and what .ci/run calls): formatting, lints, every
# test (unit, property, model, end-to-end), the loom checks, and bounded model checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the tests need is the Rust toolchain; say so clearly if it is missing.
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
# protoc builds etcd's gRPC client (the `etcd` feature: the store benchmark drives etcd
# with it); etcd-server is that benchmark's peer.
if ! command -v protoc >/dev/null 2>&1; then
  echo "installing protobuf-compiler (protoc)"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq protobuf-compiler
fi
if ! command -v etcd >/dev/null 2>&1; then
  echo "installing etcd-server (the store benchmark's peer)"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq etcd-server
fi
# promtool (Debian's prometheus) checks the /metrics output.
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing prometheus (promtool)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
fi
# make builds jemalloc, the kactor binary's allocator, from source (gcc builds ring too).
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
  echo "installing make and gcc (jemalloc and ring are built from C sources)"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq make gcc
fi
# script (util-linux) gives kubectl a terminal in the tty exec test.
if ! command -v script >/dev/null 2>&1; then
  echo "installing bsdutils (script)"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq bsdutils
fi

# The API's end-to-end tests drive the real kubectl (1.32 or later).
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is missing: install kubectl 1.32 or later (https://kubernetes.io/docs/tasks/tools/) and re-run" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

# A clean build of every test and the loom checks writes about 3.5 GB; a linker that runs out
# of disk dies with SIGBUS ("ld terminated with signal 7"), so say how much room there is.
DISK_FREE_MIN_KB=$((6 * 1024 * 1024))
disk_free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
step "disk: $((disk_free_kb / 1024)) MB free here"
if [ "${disk_free_kb:-0}" -lt "$DISK_FREE_MIN_KB" ]; then
  echo "warning: less than $((DISK_FREE_MIN_KB / 1024 / 1024)) GB free; the build may fail for want of disk" >&2
fi

step "format"
cargo fmt --all -- --check
step "clippy (every crate of the workspace, then with the etcd comparison)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p kactor-verify --features etcd -- -D warnings
step "tests (release: the model checks explore more states per second)"
cargo test --release --workspace --features kactor/etcd
step "loom (own target dir: --cfg kactor_loom rebuilds everything)"
RUSTFLAGS="--cfg kactor_loom" CARGO_TARGET_DIR=target-loom LOOM_MAX_PREEMPTIONS=2 \
  cargo test --release -p kactor-transport --lib loom_tests
step "the store benchmark beside etcd, small (it runs; the figures are docs/benchmarks.md's)"
./target/release/kactor bench store --against etcd --members 1 --sequential-puts 100 \
  --clients 10 --ops 500 --watchers 10 --watch-rounds 5 --rss-keys 1000 --disk-dir "${TMPDIR:-/tmp}"
step "bounded model checks"
./target/release/kactor check --all --budget "${KACTOR_CHECK_BUDGET:-60}"
