#!/usr/bin/env bash
# Installs what is missing and runs every test: Rust tests package by package (ssr and hydrate
# features cannot be on together), then the browser tests in Debian's Chromium against the
# debug server. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

scripts/bootstrap.sh --test

cargo test -p billing
cargo test -p backend
cargo test -p app --features ssr
cargo test -p server

# The WASM bundle and the debug server the browser tests run against.
scripts/site.sh
status=0
npm run --silent e2e || status=$?
node end2end/summary.mjs end2end/test-results/results.json
exit "$status"
