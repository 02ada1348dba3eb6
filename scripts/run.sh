#!/usr/bin/env bash
# The README's run command: builds everything and runs roster on an embedded SQLite database (./roster.db by default,
# created and migrated on first start). Extra arguments go to `roster serve`, e.g. `--listen 0.0.0.0:3000`.
# ROSTER_PROFILE=release builds optimised binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

profile="${ROSTER_PROFILE:-debug}"
flags=()
if [ "$profile" = release ]; then flags=(--release); fi

scripts/build-site.sh
step "Building the roster server ($profile)"
cargo build -p server "${flags[@]}"
step "Starting roster (Ctrl-C stops it)"
exec "target/$profile/roster" serve "$@"
