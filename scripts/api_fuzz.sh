#!/usr/bin/env bash
# Property-based API testing: schemathesis against a live gunicorn, authenticated, on the
# PUT and GET operations. Throwaway SQLite database by default; FUZZ_POSTGRES=1 uses a
# throwaway PostgreSQL database on 127.0.0.1:5432. Exits non-zero on a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${FUZZ_PORT:-8765}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
work=$(mktemp -d)
export DEBUG=false SECRET_KEY="fuzz-$(date +%s)-not-secret" DATABASE_URL="sqlite:///$work/fuzz.sqlite3"
if [ -n "${FUZZ_POSTGRES:-}" ]; then
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS comms_fuzz" -c "CREATE DATABASE comms_fuzz"
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/comms_fuzz"
fi
export ALLOWED_HOSTS="127.0.0.1,localhost" AUTH_LOCKOUT_FAILURES=1000000 LOG_LEVEL=WARNING
export FUZZ_CLIENT=fuzz-client FUZZ_SECRET="fuzz-secret-$(date +%s)-0123456789" FUZZ_DEPARTMENT=fuzz-department
.venv/bin/python manage.py migrate --noinput --verbosity 0
.venv/bin/python manage.py create_api_client "$FUZZ_CLIENT" --department "$FUZZ_DEPARTMENT" --password "$FUZZ_SECRET" >/dev/null
.venv/bin/gunicorn comms_project.wsgi --bind "127.0.0.1:$PORT" --workers 2 --log-level warning --access-logfile /dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/communications/schema/" && break; sleep 0.2; done
# One stored message, so that the single-message GET is exercised beyond its 404.
curl -sf -o /dev/null -u "$FUZZ_CLIENT:$FUZZ_SECRET" -X PUT -H 'Content-Type: application/json' \
  "http://127.0.0.1:$PORT/communications/department/$FUZZ_DEPARTMENT/customer/fuzz-customer/communication/historical" \
  --data '{"saveMessageRequestList": [{"sourceUuid": "fuzz-source", "messageUuid": "fuzz-message", "sentOn": "2024-01-01T00:00:00Z"}]}'
.venv/bin/schemathesis run "http://127.0.0.1:$PORT/communications/schema/?format=json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" --seed "${FUZZ_SEED:-20261127}" --workers 2 \
  --generation-allow-x00 true --request-timeout 30 --report junit --report-dir "$work/report" "$@"
