#!/usr/bin/env bash
# Runs every test: unit tests, the integration stories on SQLite and
# PostgreSQL, real clients (schemathesis, SDKs) and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/liveops-target}"
eval "$(bash scripts/setup.sh)"
# The stories mostly wait on their servers, databases and clients rather
# than compute, so four at a time finish sooner on two cores than two.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
cargo test --workspace --all-targets "$@"
