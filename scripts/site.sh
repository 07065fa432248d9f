#!/usr/bin/env bash
# Builds the site into target/site (WASM bundle, CSS, public files) and the billing-center binary.
#   scripts/site.sh            debug build (what the tests use)
#   scripts/site.sh --release  size-optimised WASM (profile wasm-release + wasm-opt) and a release server
#   scripts/site.sh --release-bundle  the size-optimised WASM only (the tests serve it from the debug server)
# Plain cargo + wasm-bindgen rather than cargo-leptos: see docs/ARCHITECTURE.md ("Building the site").
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

mode=debug
server=build
case "${1:-}" in
  "") ;;
  --release) mode=release ;;
  --release-bundle) mode=release; server=none ;;
  *) echo "usage: scripts/site.sh [--release | --release-bundle]" >&2; exit 2 ;;
esac

name=billing-center
site=target/site
pkg="$site/pkg"

# Each page is a lazy route (app/src/routes.rs): the bundle is linked with relocations so that
# split-site can cut it into the main module and one module per page (plus the chunks pages
# share), as cargo-leptos does with --split. A page then loads the main module and its own code.
# These flags replace .cargo/config.toml's for the wasm32 target, so they repeat its type erasure
# (Leptos's `erase_components`: a quarter less WASM, docs/PERFORMANCE.md), which the server that
# renders the HTML must share.
wasm_flags="--cfg erase_components -Clink-args=--emit-relocs"
if [ "$mode" = release ]; then
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$wasm_flags" \
    cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
  wasm=target/wasm32-unknown-unknown/wasm-release/frontend.wasm
else
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$wasm_flags" \
    cargo build -p frontend --lib --target wasm32-unknown-unknown
  wasm=target/wasm32-unknown-unknown/debug/frontend.wasm
fi
cargo build --release -p split-site

staging="$site/pkg.new"
rm -rf "$staging"
mkdir -p "$staging"
target/release/split-site "$wasm" "$staging" "$name"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$staging" --out-name "$name" "$staging/${name}_split.wasm"
rm "$staging/${name}_split.wasm"
if [ "$mode" = release ]; then
  wasm_opt="node_modules/.bin/wasm-opt"
  [ -x "$wasm_opt" ] || { echo "wasm-opt from npm binaryen is missing: run scripts/bootstrap.sh" >&2; exit 1; }
  for module in "$staging"/*.wasm; do
    # (wasm-opt does not know the name subsection the split modules carry, and says so for each.)
    "$wasm_opt" -Oz --strip-producers --strip-target-features --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$module" -o "$module" 2>&1 | { grep -v "unknown name subsection" || true; }
  done
fi
cp style/main.css "$staging/$name.css"
rm -rf "$pkg"
mv "$staging" "$pkg"
cp -R public/. "$site/"

if [ "$server" = none ]; then
  :
elif [ "$mode" = release ]; then
  cargo build -p server --release
else
  cargo build -p server
fi
echo "site: $(ls "$pkg" | wc -l) files in $pkg"
# The figure that must not creep up unnoticed (docs/PERFORMANCE.md: budget 250 KiB brotli).
if [ "$mode" = release ]; then node scripts/bundle-size.mjs "$pkg"; fi
