#!/usr/bin/env bash
# Makes the upgrade test's fixture for a release: a database written by that release's roster, with an admin, tokens,
# users (active, inactive, deleted), groups and members, a refused push, log entries, directory events and a webhook
# with failed deliveries in it. Run it once per release with that release's binary; the upgrade test
# (server/tests/api/upgrades.rs) then migrates a copy with today's code and checks every row is still there.
#   scripts/release-fixture.sh path/to/old/roster server/tests/fixtures/<version>
# Writes roster.db (SQLite), roster.sql (a PostgreSQL dump with INSERTs; needs the local cluster) and secrets.json
# (the tokens and webhook secret the test uses; they are test data).
set -euo pipefail
bin=$(realpath "$1")
out=$2
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fill() { # $1: database URL; prints the secrets as JSON
  local url=$1 port pid scim api hook
  port=$(free_port)
  export ROSTER_DATABASE_URL="$url" ROSTER_LISTEN="127.0.0.1:$port"
  "$bin" migrate >/dev/null
  echo 'correct horse battery' | "$bin" admin create --email ada@example.com >/dev/null
  "$bin" scim enable >/dev/null
  "$bin" seats set 4 >/dev/null
  scim=$("$bin" scim token create --name Okta 2>/dev/null)
  api=$("$bin" api token create --name billing 2>/dev/null)
  hook=$("$bin" webhook add --url "http://127.0.0.1:9/hook" --events '*' 2>/dev/null)
  "$bin" serve >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  req() { curl -s -X "$1" "http://127.0.0.1:$port/scim/v2$2" -H "Authorization: Bearer $scim" \
    -H 'Content-Type: application/scim+json' ${3:+-d "$3"}; }
  id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
  local u=()
  for n in grace alan ada linus; do
    u+=("$(req POST /Users "{\"userName\":\"$n@example.com\",\"externalId\":\"00u$n\",\"name\":{\"givenName\":\"$n\",\"familyName\":\"Test\"},\"emails\":[{\"value\":\"$n@example.com\",\"primary\":true}],\"active\":true}" | id)")
  done
  # The licence is full: this push is refused, and logged as such.
  req POST /Users '{"userName":"refused@example.com","active":true}' >/dev/null
  local eng
  eng=$(req POST /Groups "{\"displayName\":\"Engineering\",\"members\":[{\"value\":\"${u[0]}\"},{\"value\":\"${u[1]}\"},{\"value\":\"${u[2]}\"}]}" | id)
  req POST /Groups "{\"displayName\":\"Sales\",\"members\":[{\"value\":\"${u[3]}\"}]}" >/dev/null
  req PATCH "/Users/${u[1]}" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}' >/dev/null
  req PATCH "/Groups/$eng" "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"remove\",\"path\":\"members[value eq \\\"${u[2]}\\\"]\"}]}" >/dev/null
  req DELETE "/Users/${u[3]}" >/dev/null
  sleep 2 # the webhook's first attempts fail (nothing listens on port 9) and are recorded
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '{"scim_token": "%s", "api_token": "%s", "webhook_secret": "%s"}\n' "$scim" "$api" "$hook"
}

rm -f "$out/roster.db"
fill "sqlite://$out/roster.db" >"$out/secrets.json"
# One self-contained file: the WAL folded in.
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('pragma wal_checkpoint(truncate)'); c.execute('pragma journal_mode=delete'); c.close()" "$out/roster.db"

pg=${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
name="roster_fixture_$$"
psql "$pg" -qc "create database $name"
base=${pg%/*}
fill "$base/$name" >"$out/secrets-postgres.json"
pg_dump --inserts --no-owner --no-privileges --no-comments "$base/$name" | grep -v -e '^SET transaction_timeout' -e '^\\restrict ' -e '^\\unrestrict ' >"$out/roster.sql"
psql "$pg" -qc "drop database $name"
echo "fixture written to $out"
