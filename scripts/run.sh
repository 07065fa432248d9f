#!/usr/bin/env bash
# Installs what is missing, builds the release site and server, and serves Billing Center on
# LEPTOS_SITE_ADDR (default http://127.0.0.1:3000). Extra arguments go to `billing-center serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A newer Node that bootstrap.sh may have installed (Debian 12's is too old for Playwright).
if [ -x .tools/node/node_modules/.bin/node ]; then export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"; fi
scripts/bootstrap.sh
scripts/site.sh --release
exec target/release/billing-center serve "$@"
