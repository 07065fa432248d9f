#!/usr/bin/env bash
# Installs what is missing and runs every test: Rust tests package by package (ssr and hydrate
# features cannot be on together), Schemathesis against the debug server's OpenAPI document, the
# browser tests in Debian's Chromium against the debug server, then a browser smoke test of the
# release build. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A newer Node that bootstrap.sh may have installed (Debian 12's is too old for Playwright).
if [ -x .tools/node/node_modules/.bin/node ]; then export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"; fi
export CARGO_TERM_COLOR=never

scripts/bootstrap.sh --test

# Store tests run on SQLite and on a real PostgreSQL server; each test creates its own database
# (billing_test_*) and drops it; leftovers of a crashed run are removed here.
BILLING_TEST_POSTGRES_URL=$(scripts/postgres.sh)
export BILLING_TEST_POSTGRES_URL
if command -v psql >/dev/null; then
  psql "$BILLING_TEST_POSTGRES_URL" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'billing\_test\_%'" 2>/dev/null |
    while read -r db; do psql "$BILLING_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done || true
fi

cargo test -p billing
cargo test -p backend
cargo test -p app --features ssr
cargo test -p server

# The WASM bundle and the debug server the browser tests run against.
scripts/site.sh
status=0
# The JSON API against its own OpenAPI document: Schemathesis on the debug server (SQLite, PostgreSQL).
scripts/schemathesis.sh || status=$?
rm -rf target/e2e
npm run --silent e2e || status=$?
node end2end/summary.mjs end2end/test-results/results.json
# The release build as scripts/run.sh serves it (type-erased, split, precompressed): it hydrates
# and moves between sections (end2end/release.config.ts).
scripts/site.sh --release
rm -rf target/e2e-release
node_modules/.bin/playwright test -c end2end/release.config.ts || status=$?
node end2end/summary.mjs end2end/test-results/release-results.json
exit "$status"
