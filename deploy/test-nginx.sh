#!/usr/bin/env bash
# Verified here: run on Debian 12 (nginx 1.22.1) against target/debug/roster; every check below passed. Not run here: other nginx versions or distributions.
#
# Checks deploy/nginx.conf for real: renders it with a throwaway self-signed certificate and free local ports, runs
# nginx in the foreground with a temporary prefix, starts roster behind it on a temporary SQLite database, and talks
# to it through nginx with curl. Nothing outside a temporary directory is written (except installing nginx with apt
# if it is missing; on a normal Debian host that also starts nginx's default site on port 80).
#
#   deploy/test-nginx.sh [path/to/roster]      (default: target/debug/roster)
#
# Exit status 0 when every check passes, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${1:-$repo/target/debug/roster}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fails=0
pass() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; fails=$((fails + 1)); }

# ---------------------------------------------------------------- tools
for tool in curl openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 1; }
done
nginx=$(command -v nginx || true)
[ -n "$nginx" ] || { [ -x /usr/sbin/nginx ] && nginx=/usr/sbin/nginx; } || true
if [ -z "$nginx" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "Installing nginx with apt"
    apt-get install -y nginx >/dev/null || { apt-get update >/dev/null && apt-get install -y nginx >/dev/null; }
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
  else
    echo "error: nginx is not installed (apt-get install nginx, as root)" >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------- scratch space, cleaned up on any exit
tmp=$(mktemp -d)
chmod 755 "$tmp" # nginx's worker processes (not root) must reach their temp directories in here
nginx_pid=
roster_pid=
cleanup() {
  local rc=$?
  set +e
  cd /
  [ -n "$roster_pid" ] && kill "$roster_pid" 2>/dev/null && wait "$roster_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  if [ "$rc" != 0 ] || [ "$fails" != 0 ]; then
    for log in "$tmp/error.log" "$tmp/roster.log"; do
      [ -s "$log" ] && { echo "--- last lines of $(basename "$log")"; tail -n 20 "$log"; }
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    local p
    while :; do
      p=$((20000 + RANDOM % 40000))
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
  fi
}
https_port=$(free_port)
http_port=$(free_port)
roster_port=$(free_port)
while [ "$http_port" = "$https_port" ]; do http_port=$(free_port); done
while [ "$roster_port" = "$https_port" ] || [ "$roster_port" = "$http_port" ]; do roster_port=$(free_port); done

# ---------------------------------------------------------------- certificate and configuration
say "Generating a self-signed certificate for localhost"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

say "Rendering deploy/nginx.conf (https :$https_port, http :$http_port, roster :$roster_port)"
# Only what differs on a test machine changes: certificate paths, ports, the server name, and the redirect target
# (which must carry the test's https port). IPv6 listeners are dropped, since a test machine may have no IPv6.
sed -e "s#/etc/ssl/roster/fullchain.pem#$tmp/cert.pem#" \
    -e "s#/etc/ssl/roster/privkey.pem#$tmp/key.pem#" \
    -e "s#server 127.0.0.1:3000;#server 127.0.0.1:$roster_port;#" \
    -e "s#listen 80;#listen 127.0.0.1:$http_port;#" \
    -e "s#listen 443 ssl#listen 127.0.0.1:$https_port ssl#" \
    -e '/listen \[::\]:/d' \
    -e "s#server_name roster.example.com;#server_name localhost;#" \
    -e "s#return 301 https://\$host\$request_uri;#return 301 https://\$host:$https_port\$request_uri;#" \
    "$here/nginx.conf" >"$tmp/roster.conf"
# If the example changes shape, a substitution silently stops matching: refuse to test something else.
live=$(grep -v '^[[:space:]]*#' "$tmp/roster.conf")
for leftover in roster.example.com /etc/ssl/roster '127.0.0.1:3000;' 'listen 80;' 'listen 443'; do
  if grep -qF -- "$leftover" <<<"$live"; then
    echo "error: rendering left '$leftover' in the config; update the substitutions in $0" >&2
    exit 1
  fi
done
for want in "$tmp/cert.pem" "$tmp/key.pem" "server 127.0.0.1:$roster_port;" "listen 127.0.0.1:$http_port;" \
  "listen 127.0.0.1:$https_port ssl" "https://\$host:$https_port\$request_uri"; do
  grep -qF -- "$want" <<<"$live" || { echo "error: rendering did not produce '$want'" >&2; exit 1; }
done

mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log info;
events { worker_connections 64; }
http {
    access_log $tmp/access.log;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy_temp;
    fastcgi_temp_path $tmp/fastcgi_temp;
    uwsgi_temp_path $tmp/uwsgi_temp;
    scgi_temp_path $tmp/scgi_temp;
    include $tmp/roster.conf;
}
EOF

say "nginx -t"
"$nginx" -t -q -p "$tmp/" -c "$tmp/nginx.conf"
pass "nginx -t accepts the rendered example"

if [ ! -x "$bin" ]; then
  echo "error: no roster binary at $bin; only the configuration's syntax was checked" >&2
  exit 1
fi

# ---------------------------------------------------------------- start nginx and roster
say "Starting nginx in the foreground"
"$nginx" -p "$tmp/" -c "$tmp/nginx.conf" -g 'daemon off;' &
nginx_pid=$!

say "Starting roster ($bin) on a temporary SQLite database"
# A clean environment: only what this test sets, whatever the caller's shell exports. From the temporary directory,
# so nothing lands in the caller's.
cd "$tmp"
roster_env=(env -i PATH="$PATH" HOME="$tmp" RUST_LOG="${RUST_LOG:-warn,roster=info,server=info}"
  ROSTER_DATABASE_URL="sqlite://$tmp/roster.db"
  ROSTER_LISTEN="127.0.0.1:$roster_port"
  ROSTER_PUBLIC_URL="https://localhost:$https_port"
  ROSTER_TRUSTED_PROXY_HEADER=X-Forwarded-For)
run_roster() { "${roster_env[@]}" "$bin" "$@"; }
# Started directly (env execs roster), so $! is roster's own pid and the cleanup stops roster itself.
"${roster_env[@]}" "$bin" serve >"$tmp/roster.log" 2>&1 &
roster_pid=$!

up=
for _ in $(seq 1 300); do
  kill -0 "$roster_pid" 2>/dev/null || break
  kill -0 "$nginx_pid" 2>/dev/null || break
  if curl -fso /dev/null "http://127.0.0.1:$roster_port/healthz" 2>/dev/null; then up=1; break; fi
  sleep 0.1
done
[ -n "$up" ] || { echo "error: roster or nginx did not start" >&2; exit 1; }
kill -0 "$nginx_pid" 2>/dev/null || { echo "error: nginx exited" >&2; exit 1; }

# ---------------------------------------------------------------- checks, all through nginx
base=https://localhost:$https_port
# --resolve: localhost may resolve to ::1 first, and the test listeners are IPv4 only.
curl_opts=(-sk --max-time 20 --resolve "localhost:$https_port:127.0.0.1" --resolve "localhost:$http_port:127.0.0.1")
# request OUTPUT_PREFIX CURL_ARGS...: the body to $OUTPUT_PREFIX.body, headers to .head; prints the status code.
request() {
  local out=$1
  shift
  curl "${curl_opts[@]}" -o "$out.body" -D "$out.head" -w '%{http_code}' "$@" || true
}
# header OUTPUT_PREFIX NAME: the value of the first such header of the last request (empty if none).
header() { { grep -i "^$2:" "$1.head" || true; } | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

say "Checking through nginx"

code=$(request "$tmp/h" "$base/healthz")
if [ "$code" = 200 ] && grep -q '"ok"' "$tmp/h.body"; then pass "GET /healthz over https: 200"; else
  fail "GET /healthz over https: got $code $(head -c 200 "$tmp/h.body")"; fi
hsts=$(header "$tmp/h" Strict-Transport-Security)
if [ -n "$hsts" ]; then pass "roster sends HSTS (it sees an https public URL): $hsts"; else
  fail "no Strict-Transport-Security header: ROSTER_PUBLIC_URL not https?"; fi

code=$(request "$tmp/r" "$base/readyz")
if [ "$code" = 200 ] && grep -q '"database":"ok"' "$tmp/r.body"; then pass "GET /readyz over https: 200, database ok"; else
  fail "GET /readyz over https: got $code $(head -c 200 "$tmp/r.body")"; fi

code=$(request "$tmp/s" "$base/scim/v2/ServiceProviderConfig")
ctype=$(header "$tmp/s" Content-Type)
auth=$(header "$tmp/s" WWW-Authenticate)
if [ "$code" = 401 ] && grep -q 'urn:ietf:params:scim:api:messages:2.0:Error' "$tmp/s.body" &&
  grep -q '"status":"401"' "$tmp/s.body" && [[ $ctype == application/scim+json* ]] && [[ $auth == Bearer* ]]; then
  pass "GET /scim/v2/ServiceProviderConfig without a token: 401, SCIM error body, WWW-Authenticate: $auth"
else
  fail "unauthenticated SCIM request: got $code, Content-Type '$ctype', WWW-Authenticate '$auth': $(head -c 300 "$tmp/s.body")"
fi

code=$(request "$tmp/p" "http://localhost:$http_port/readyz?x=1")
loc=$(header "$tmp/p" Location)
if [ "$code" = 301 ] && [ "$loc" = "https://localhost:$https_port/readyz?x=1" ]; then
  pass "http redirects to https: 301 to $loc"
else fail "http request: got $code, Location '$loc'"; fi
code=$(request "$tmp/f" -L "http://localhost:$http_port/healthz")
if [ "$code" = 200 ]; then pass "following the redirect reaches roster: 200"; else fail "following the redirect: got $code"; fi

# The public URL: with a token and SCIM on, the SCIM base URL roster reports is the https address behind nginx.
if echo 'test passphrase for nginx' | run_roster admin create --email ops@example.com >/dev/null 2>&1 &&
  token=$(run_roster scim token create --name Test 2>/dev/null) && run_roster scim enable >/dev/null 2>&1; then
  code=$(request "$tmp/c" -H "Authorization: Bearer $token" "$base/scim/v2/ServiceProviderConfig")
  if [ "$code" = 200 ] && grep -qF "\"$base/scim\"" "$tmp/c.body"; then
    pass "with a token: ServiceProviderConfig 200, documentationUri $base/scim"
  else fail "ServiceProviderConfig with a token: got $code: $(head -c 300 "$tmp/c.body")"; fi
  # Body limits. nginx must pass what roster accepts (8 MiB on /Groups; nginx's default is 1 MiB) and what roster
  # refuses with its own SCIM 413; only bodies over client_max_body_size get nginx's 413.
  big_body() { # big_body BYTES: a SCIM Group of about that size (an over-long externalId pads it)
    printf '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Big","externalId":"'
    head -c "$1" /dev/zero | tr '\0' x
    printf '"}'
  }
  post_big() { # post_big BYTES: prints the status of POST /scim/v2/Groups with that body, with the token
    big_body "$1" >"$tmp/big.json"
    request "$tmp/b" -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
      --data-binary "@$tmp/big.json" "$base/scim/v2/Groups"
  }
  scim_error() { grep -q 'urn:ietf:params:scim:api:messages:2.0:Error' "$tmp/b.body"; }
  code=$(post_big $((7 * 1024 * 1024 + 512 * 1024)))
  if [ "$code" = 400 ] && scim_error; then pass "a 7.5 MiB SCIM body reaches roster (its own answer: 400 invalidValue)"
  else fail "7.5 MiB SCIM body: got $code (413 from nginx means client_max_body_size is too small)"; fi
  code=$(post_big $((8 * 1024 * 1024 + 512 * 1024)))
  if [ "$code" = 413 ] && scim_error; then pass "an 8.5 MiB SCIM body gets roster's SCIM 413, not nginx's"
  else fail "8.5 MiB SCIM body: got $code: $(head -c 200 "$tmp/b.body")"; fi
  code=$(post_big $((10 * 1024 * 1024)))
  if [ "$code" = 413 ] && ! scim_error; then pass "a 10 MiB body is refused by nginx itself: 413"
  else fail "10 MiB body: got $code, expected nginx's 413"; fi
  rm -f "$tmp/big.json"

  code=$(request "$tmp/u" -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
    --data '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","active":true}' \
    "$base/scim/v2/Users")
  loc=$(header "$tmp/u" Location)
  if [ "$code" = 201 ] && [[ $loc == "$base/scim/v2/Users/"* ]]; then pass "POST /scim/v2/Users: 201, Location $loc"; else
    fail "POST /scim/v2/Users: got $code, Location '$loc': $(head -c 300 "$tmp/u.body")"; fi
else
  fail "the roster CLI (admin create, scim token create, scim enable) failed on the test database"
fi

# CSRF: panel changes are accepted only from the public URL's origin, which is the https address behind nginx.
form=(-X POST -H 'Content-Type: application/x-www-form-urlencoded' --data 'email=ops@example.com&password=wrong-password')
code=$(request "$tmp/o" "${form[@]}" -H 'Origin: https://evil.example' "$base/api/login")
if [ "$code" = 403 ] && grep -q 'roster refused this change' "$tmp/o.body"; then
  pass "a sign-in posted from another origin: 403"
else fail "cross-origin sign-in: got $code: $(head -c 200 "$tmp/o.body")"; fi

# X-Forwarded-For: nginx sets it to the connecting address, so a client cannot pick the address roster counts
# sign-in attempts by. Five failures are allowed per account and address; with a new forged address on each try, the
# sixth is still throttled, because roster saw the same (real) address every time.
throttled=
for i in 1 2 3 4 5 6; do
  code=$(request "$tmp/l" "${form[@]}" -H "Origin: $base" -H "X-Forwarded-For: 203.0.113.$i" "$base/api/login")
  if grep -q 'refused this change' "$tmp/l.body"; then
    fail "a sign-in from the public URL's own origin was refused as cross-origin (ROSTER_PUBLIC_URL mismatch)"
    break
  fi
  if grep -q 'too many failed sign-in attempts' "$tmp/l.body"; then throttled=$i; break; fi
done
if [ "$throttled" = 6 ]; then
  pass "forged X-Forwarded-For is ignored: the 6th failed sign-in is throttled"
elif [ -n "$throttled" ]; then fail "sign-in throttled after $throttled attempts, expected 6"
else fail "six failed sign-ins with forged X-Forwarded-For were not throttled: roster counted the forged addresses"; fi

kill -0 "$roster_pid" 2>/dev/null || fail "roster exited during the checks"
kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited during the checks"

if [ "$fails" = 0 ]; then
  say "All checks passed"
else
  say "$fails check(s) failed"
  exit 1
fi
