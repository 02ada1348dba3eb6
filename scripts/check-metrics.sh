#!/usr/bin/env bash
# Checks the exposition of `/metrics` with Prometheus's own linter, `promtool check metrics` (Debian's prometheus
# package), against a live roster that has served SCIM, panel and health requests.
#   scripts/check-metrics.sh [path/to/roster]      (default: target/debug/roster)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/roster}
if ! command -v promtool >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
metrics_port=$(free_port)
export ROSTER_DATABASE_URL="sqlite://$work/roster.db" ROSTER_LISTEN="127.0.0.1:$port"
"$bin" migrate >/dev/null
"$bin" scim enable >/dev/null
token=$("$bin" scim token create --name Okta 2>/dev/null)
"$bin" serve --metrics-listen "127.0.0.1:$metrics_port" >"$work/roster.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# Every kind of series: requests by route and status, SCIM errors, writes by outcome, the gauges.
curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/scim/v2/Users" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/scim+json' -d '{"userName":"metrics@example.com","active":true}'
curl -s -o /dev/null "http://127.0.0.1:$port/scim/v2/Users?filter=bad" -H "Authorization: Bearer $token"
curl -s -o /dev/null "http://127.0.0.1:$port/login"
curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt"
promtool check metrics <"$work/metrics.txt"
echo "promtool: $(grep -c '^# TYPE' "$work/metrics.txt") metric families, no problems"
