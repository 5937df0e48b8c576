#!/bin/sh
# Regenerates the protobuf decoder's message table and its kubectl fixtures in
# kube/src/protobuf/ (the decoder itself, mod.rs, and tests.rs are hand-written).
# The table is read from the Go type metadata inside kubectl 1.33's binary (KUBECTL in
# gen_table.py); the fixtures from capture/fixtures.json (capture/run_captures.py).
set -e
cd "$(dirname "$0")"
OUT=../../kube/src/protobuf
python3 gen_table.py "$OUT/table.rs"
python3 gen_fixtures.py "$OUT/fixtures.rs" capture/fixtures.json
rustfmt --edition 2021 "$OUT/table.rs"
