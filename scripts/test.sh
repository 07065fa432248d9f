#!/usr/bin/env bash
# Installs what is missing and runs every test: the Rust tests of the server-side crates (in one
# cargo invocation, so their dependencies are built once with one feature set; the browser crate's
# hydrate feature cannot be on with ssr and is built by site.sh), Schemathesis against the debug
# server's OpenAPI document, the browser tests in Debian's Chromium against the debug server, then a
# browser smoke test of the release bundle. Prints how long each step took. Exits non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A newer Node that bootstrap.sh may have installed (Debian 12's is too old for Playwright).
if [ -x .tools/node/node_modules/.bin/node ]; then export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"; fi
export CARGO_TERM_COLOR=never

started=$SECONDS
step_started=$SECONDS
step() {
  echo "==> test.sh: ${1} took $((SECONDS - step_started)) s (total $((SECONDS - started)) s)"
  step_started=$SECONDS
}

scripts/bootstrap.sh --test
step "installing tools"

# Store tests run on SQLite and on a real PostgreSQL server; each test creates its own database
# (billing_test_*) and drops it; leftovers of a crashed run are removed here.
BILLING_TEST_POSTGRES_URL=$(scripts/postgres.sh)
export BILLING_TEST_POSTGRES_URL
if command -v psql >/dev/null; then
  psql "$BILLING_TEST_POSTGRES_URL" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'billing\_test\_%'" 2>/dev/null |
    while read -r db; do psql "$BILLING_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null; done || true
fi

step "starting PostgreSQL"

cargo test -p billing -p backend -p app -p server
step "Rust tests"

# The WASM bundle and the debug server the browser tests run against.
scripts/site.sh
step "building the debug site"
status=0
# The JSON API against its own OpenAPI document: Schemathesis on the debug server (SQLite, PostgreSQL).
scripts/schemathesis.sh || status=$?
step "Schemathesis"
rm -rf target/e2e
npm run --silent e2e || status=$?
node end2end/summary.mjs end2end/test-results/results.json
step "browser tests"
# The release bundle as scripts/run.sh serves it (size-optimised, split, precompressed): it
# hydrates and moves between sections (end2end/release.config.ts). It is served by the debug
# server, built with the same type erasure (.cargo/config.toml): an optimised server binary would
# cost a second build of every crate and test nothing the bundle depends on.
scripts/site.sh --release-bundle
step "building the release bundle"
rm -rf target/e2e-release
E2E_RELEASE_SERVER=./target/debug/billing-center node_modules/.bin/playwright test -c end2end/release.config.ts || status=$?
node end2end/summary.mjs end2end/test-results/release-results.json
step "release bundle browser tests"
exit "$status"
