#!/usr/bin/env bash
# Runs the documented webhook receiver (docs/integrations.md) (examples/webhook-receiver.py, verifying with the Standard Webhooks library from
# PyPI) against a live roster: a webhook added with the CLI, a user created and deactivated over SCIM, and the same
# events read back from the directory API's feed with an API token.
#   scripts/webhook-example.sh [path/to/roster]      (default: target/debug/roster)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/roster}
venv=target/webhook-example
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q standardwebhooks==1.1.0
fi
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hook_port=$(free_port)
# The receiver is on this machine: roster's network policy refuses loopback unless the operator allows it.
export ROSTER_DATABASE_URL="sqlite://$work/roster.db" ROSTER_LISTEN="127.0.0.1:$port" ROSTER_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8
"$bin" migrate >/dev/null
"$bin" scim enable >/dev/null
token=$("$bin" scim token create --name Okta 2>/dev/null)
api=$("$bin" api token create --name example 2>/dev/null)
secret=$("$bin" webhook add --url "http://127.0.0.1:$hook_port/roster-events" --events 'user.*' 2>/dev/null)
ROSTER_WEBHOOK_SECRET="$secret" "$venv/bin/python" examples/webhook-receiver.py "$hook_port" >"$work/receiver.log" 2>&1 &
receiver=$!
"$bin" serve >"$work/roster.log" 2>&1 &
pid=$!
trap 'kill $pid $receiver 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
scim() { curl -sf -X "$1" "http://127.0.0.1:$port/scim/v2$2" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/scim+json' -d "$3"; }
id=$(scim POST /Users '{"userName":"grace@example.com","name":{"givenName":"Grace","familyName":"Hopper"},"active":true}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
scim PATCH "/Users/$id" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}' >/dev/null
for _ in $(seq 1 100); do grep -q "verified user.deactivated" "$work/receiver.log" && break; sleep 0.1; done
cat "$work/receiver.log"
grep -q "verified user.created" "$work/receiver.log"
grep -q "end the sessions of grace@example.com - Inactive: deactivated by Okta" "$work/receiver.log"
if grep -q rejected "$work/receiver.log"; then echo "a delivery failed verification" >&2; exit 1; fi
# The feed has the same two events.
curl -sf "http://127.0.0.1:$port/v1/events" -H "Authorization: Bearer $api" |
  python3 -c 'import json,sys; t=[e["type"] for e in json.load(sys.stdin)["events"]]; print("feed:", t); assert t[-2:] == ["user.created","user.deactivated"], t'
echo "The documented receiver verified roster's deliveries with the Standard Webhooks library."
