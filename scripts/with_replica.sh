#!/usr/bin/env bash
# Run CMD… with a real streaming replica of the local PostgreSQL primary (127.0.0.1:5432):
#   scripts/with_replica.sh .venv/bin/pytest tests/api/test_replica_streaming.py
# Creates a throwaway cluster (pg_createcluster) on a free port, copies the primary into it
# with pg_basebackup -R (a hot standby streaming from the primary), starts it, waits until it
# is in recovery and streaming, then runs CMD with DATABASE_REPLICA_URLS pointing at it (and
# REQUIRE_REPLICA=1: the replica tests fail instead of skipping). Stops and drops the cluster
# on exit, whatever happened. Needs root (it runs the pg_* tools as postgres) and the
# postgresql-common tools. Adds a `host replication all 127.0.0.1/32 trust` line to the
# primary's pg_hba.conf when missing (and reloads it); that line stays.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: $0 CMD…" >&2; exit 2; }
VERSION="${PG_VERSION:-15}"
PRIMARY_PORT=5432
NAME="replica_$$"
as_postgres() { runuser -u postgres -- "$@"; }
psql_at() { as_postgres psql -X -w -At -h 127.0.0.1 -p "$1" -d postgres -c "$2"; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA="/var/lib/postgresql/$VERSION/$NAME"

cleanup() {
  status=$?
  set +e
  as_postgres pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" stop -m fast 2>/dev/null
  pg_dropcluster "$VERSION" "$NAME" 2>/dev/null
  exit "$status"
}
trap cleanup EXIT INT TERM

for setting in wal_level max_wal_senders; do
  echo "primary $setting: $(psql_at "$PRIMARY_PORT" "SHOW $setting")"
done
HBA=$(psql_at "$PRIMARY_PORT" "SHOW hba_file")
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$HBA"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$HBA"
  psql_at "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
fi

pg_createcluster --start-conf=manual "$VERSION" "$NAME" -p "$PORT" >/dev/null
# The tests connect as postgres over TCP without a password, as to the primary.
sed -i -E 's/(scram-sha-256|md5|peer)$/trust/' "/etc/postgresql/$VERSION/$NAME/pg_hba.conf"
as_postgres find "$DATA" -mindepth 1 -delete
as_postgres pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast
as_postgres pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start

for _ in $(seq 60); do
  [ "$(psql_at "$PORT" "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" = "t" ] && break
  sleep 0.5
done
[ "$(psql_at "$PORT" "SELECT status FROM pg_stat_wal_receiver")" = "streaming" ] \
  || { echo "the replica on port $PORT does not stream from the primary" >&2; exit 1; }
echo "replica $NAME streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$PORT"

PRIMARY_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$PRIMARY_PORT/comms}"
export DATABASE_URL="$PRIMARY_URL"
export DATABASE_REPLICA_URLS="postgres://postgres@127.0.0.1:$PORT/${PRIMARY_URL##*/}"
export REQUIRE_REPLICA=1
"$@"
