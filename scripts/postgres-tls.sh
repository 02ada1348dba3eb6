#!/usr/bin/env bash
# Serves the local PostgreSQL cluster over TLS with a throwaway CA, so that roster's sslmode=require and verify-full
# can be tested as managed PostgreSQL services need them.
#   scripts/postgres-tls.sh on    makes the CA and a server certificate for the name localhost only (once), points
#                                 the cluster at them and reloads it (ALTER SYSTEM; connections without TLS still work)
#   scripts/postgres-tls.sh ca    prints the CA certificate's path (for sslrootcert=)
# Needs openssl, and psql as a superuser at $ROSTER_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
pg_url="${ROSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
dir=/var/lib/postgresql/roster-test-tls-localhost

case "${1:-}" in
  ca) echo "$dir/ca.crt" ;;
  on)
    if [ ! -s "$dir/server.crt" ]; then
      mkdir -p "$dir"
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=roster test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
      printf 'subjectAltName=DNS:localhost\n' >"$dir/san.ext"
      openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
        -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
      chown -R postgres:postgres "$dir" 2>/dev/null || true
      chmod 600 "$dir/server.key" "$dir/ca.key"
      chmod 644 "$dir/ca.crt" "$dir/server.crt"
    fi
    psql "$pg_url" -qc "alter system set ssl = on" \
      -c "alter system set ssl_cert_file = '$dir/server.crt'" \
      -c "alter system set ssl_key_file = '$dir/server.key'" \
      -c "select pg_reload_conf()" >/dev/null
    sleep 1
    echo "PostgreSQL serves TLS with the certificate of $dir/ca.crt"
    ;;
  *) echo "usage: $0 on|ca" >&2; exit 2 ;;
esac
