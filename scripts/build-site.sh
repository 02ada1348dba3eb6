#!/usr/bin/env bash
# Builds what the browser needs into target/site/pkg: the wasm for hydration (wasm32-unknown-unknown + wasm-bindgen at
# exactly the version in Cargo.lock) and the stylesheet. Installs what is missing, saying so at each step.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

profile="${ROSTER_PROFILE:-debug}"
cargo_profile=()
wasm_dir=debug
if [ "$profile" = release ]; then cargo_profile=(--profile wasm-release); wasm_dir=wasm-release; fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "Installing the wasm32-unknown-unknown Rust target (once)"
  rustup target add wasm32-unknown-unknown
fi

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "Installing wasm-bindgen-cli $want to match Cargo.lock (once, about 2 minutes)"
  # Not --locked: its lockfile pins a webpki-roots release the registry mirror here does not serve.
  cargo install wasm-bindgen-cli --version "$want"
fi

step "Building the panel's wasm ($profile)"
cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate "${cargo_profile[@]}"

step "Generating JavaScript bindings and copying the stylesheet into target/site/pkg"
mkdir -p target/site/pkg
wasm-bindgen --target web --no-typescript --out-dir target/site/pkg --out-name roster \
  "target/wasm32-unknown-unknown/$wasm_dir/app.wasm"
cp style/main.css target/site/pkg/roster.css
