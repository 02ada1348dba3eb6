#!/usr/bin/env bash
# Runs the public SCIM checkers (scim2-tester and scim-sanity, from PyPI, pinned) against a live roster on a
# throwaway SQLite database. See scripts/scim-checkers.py for what counts as a failure.
#   scripts/scim-checkers.sh [path/to/roster]      (default: target/debug/roster)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/roster}
venv=target/scim-checkers
if [ ! -x "$venv/bin/scim-sanity" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q scim2-tester==0.5.2 scim-sanity==0.7.4 httpx2==2.16.2
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ROSTER_DATABASE_URL="sqlite://$work/roster.db" ROSTER_LISTEN="127.0.0.1:$port"
"$bin" migrate >/dev/null
"$bin" scim enable >/dev/null
"$bin" seats set 100000 >/dev/null
token=$("$bin" scim token create --name Checkers 2>/dev/null)
"$bin" serve >"$work/roster.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" scripts/scim-checkers.py "http://127.0.0.1:$port/scim/v2" "$token"
