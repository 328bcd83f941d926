#!/usr/bin/env bash
# Run a command behind a throwaway pgbouncer in transaction pooling mode, as production
# may run the service: the pgbouncer listens on a free port of 127.0.0.1, forwards every
# database name to the PostgreSQL at PGBOUNCER_UPSTREAM, and stops when the command ends.
# The command sees DATABASE_URL (database PGBOUNCER_DATABASE, user postgres) pointing at
# it, DISABLE_SERVER_SIDE_CURSORS=true and PGBOUNCER_PORT.
#
#   scripts/with_pgbouncer.sh ./scripts/test.sh tests/api/test_read_api.py
#
# Needs the pgbouncer binary (Debian: apt-get install pgbouncer). pgbouncer refuses to run
# as root, so as root it runs as the postgres user.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGUMENT...]" >&2; exit 2; }
PATH="$PATH:/usr/sbin"
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }

upstream="${PGBOUNCER_UPSTREAM:-host=127.0.0.1 port=5432}"
database="${PGBOUNCER_DATABASE:-comms}"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
dir="$(mktemp -d -t pgbouncer.XXXXXX)"
chmod 755 "$dir"

cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = $upstream

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
logfile = $dir/pgbouncer.log
log_connections = 0
log_disconnections = 0
EOF
echo '"postgres" ""' >"$dir/userlist.txt"

as_user=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$dir"
  as_user=(-u postgres)
fi
pgbouncer -q "${as_user[@]}" "$dir/pgbouncer.ini" &
pid=$!
stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 50); do
  python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" \
    2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/pgbouncer.log" >&2 || true; echo "pgbouncer did not start" >&2; exit 1; }
  sleep 0.1
done
echo "pgbouncer (transaction pooling) on 127.0.0.1:$port -> $upstream" >&2

status=0
PGBOUNCER_PORT="$port" DATABASE_URL="postgres://postgres@127.0.0.1:$port/$database" DISABLE_SERVER_SIDE_CURSORS=true \
  "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "--- end of the pgbouncer log" >&2
  tail -n 20 "$dir/pgbouncer.log" >&2 || true
fi
exit "$status"
