#!/usr/bin/env bash
# Installs what is missing, builds the release site and server, and serves Billing Center on
# LEPTOS_SITE_ADDR (default http://127.0.0.1:3000). Extra arguments go to `billing-center serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/bootstrap.sh
scripts/site.sh --release
exec target/release/billing-center serve "$@"
