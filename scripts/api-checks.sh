#!/usr/bin/env bash
# Checks /v1 and the audit trail with tools from PyPI (pinned), against a live roster on a throwaway SQLite database:
#   - docs/openapi.json validates as OpenAPI 3.1 (openapi-spec-validator);
#   - every audit record type validates against the JSON Schema of its OCSF class (jsonschema, schemas/ocsf);
#   - schemathesis sends generated requests to every /v1 operation with a token of each scope, and with none, and
#     fails on any 5xx or any response the document does not describe.
#   scripts/api-checks.sh [path/to/roster]      (default: target/debug/roster)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${1:-target/debug/roster}
venv=target/api-checks
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis==4.32.5 openapi-spec-validator==0.9.0 jsonschema==4.26.0
fi

echo "--- docs/openapi.json is valid OpenAPI"
"$venv/bin/openapi-spec-validator" docs/openapi.json

echo "--- every audit record type against its OCSF class's JSON Schema"
ROSTER_TEST_PYTHON="$PWD/$venv/bin/python" cargo test --workspace -- --ignored --exact \
  audit::every_record_type_validates_against_the_json_schema_of_its_ocsf_class

echo "--- schemathesis against a live roster, with each token scope"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ROSTER_DATABASE_URL="sqlite://$work/roster.db" ROSTER_LISTEN="127.0.0.1:$port" RUST_LOG=warn
"$bin" migrate >/dev/null
"$bin" scim enable >/dev/null
"$bin" seats set 1000 >/dev/null
scim=$("$bin" scim token create --name Okta 2>/dev/null)
directory=$("$bin" api token create --name service --scope directory 2>/dev/null)
audit=$("$bin" api token create --name siem --scope audit 2>/dev/null)
"$bin" serve >"$work/roster.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
# Something to read: users, a group with members, their events and log entries.
for i in 1 2 3; do
  curl -sf -X POST "$base/scim/v2/Users" -H "Authorization: Bearer $scim" -H 'Content-Type: application/scim+json' \
    -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"user$i@example.com\",\"active\":true}" \
    >/dev/null
done
curl -sf -X POST "$base/scim/v2/Groups" -H "Authorization: Bearer $scim" -H 'Content-Type: application/scim+json' \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering"}' >/dev/null
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
for who in directory audit none; do
  case $who in
    directory) header=(-H "Authorization: Bearer $directory") ;;
    audit) header=(-H "Authorization: Bearer $audit") ;;
    none) header=() ;;
  esac
  echo "--- schemathesis: ${who} token"
  (cd "$work" && "$root/$venv/bin/schemathesis" run "$base/v1/openapi.json" "${header[@]}" --checks "$checks" \
    --max-examples 60 --phases examples,coverage,fuzzing --workers 2 --seed 1 --warnings off \
    --request-timeout 40)
done
if grep -E '"level":"ERROR"|ERROR' "$work/roster.log"; then
  echo "roster logged errors during the run" >&2
  exit 1
fi
echo "api checks passed"
