#!/usr/bin/env bash
# Start the Procfile's stack (web + worker) with honcho against a throwaway PostgreSQL
# database, as an operator would, and check that it serves: the readiness check answers
# 200, a PUT with a callBackPathUrl answers 200, and the callback reaches a small local
# receiver through the worker within CALLBACK_WAIT seconds. Stops everything and drops the
# database on exit. Needs the .venv of requirements-dev.txt (honcho) and PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust). PROCFILE_DB names the database (default comms_procfile).
#
# Two fallbacks until the branches that add them are merged, each announced by a "note:" line:
# - without gunicorn.conf.py, the web line runs `gunicorn comms_project.wsgi --bind 127.0.0.1:$PORT`;
# - without /readyz (404), readiness is checked on /communications/schema/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
DB="${PROCFILE_DB:-comms_procfile}"
CALLBACK_WAIT="${CALLBACK_WAIT:-20}"
work=$(mktemp -d)
stack="" receiver=""
psql_admin() {
  PGOPTIONS='-c client_min_messages=warning' psql -q -X -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}
cleanup() {
  status=$?
  set +e
  # honcho passes SIGTERM on to gunicorn and the worker and waits for them.
  [ -n "$stack" ] && kill "$stack" 2>/dev/null && wait "$stack" 2>/dev/null
  [ -n "$receiver" ] && kill "$receiver" 2>/dev/null
  psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  if [ "$status" -ne 0 ] && [ -f "$work/stack.log" ]; then
    echo "--- honcho output (last 40 lines)" >&2
    tail -40 "$work/stack.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WEB_PORT="${PROCFILE_PORT:-$(free_port)}"
RECEIVER_PORT=$(free_port)

# Settings: what an operator puts in .env (see .env.example), here in honcho's env file.
cat >"$work/env" <<ENV
DEBUG=false
SECRET_KEY=procfile-check-$(date +%s)-not-secret
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
ALLOWED_HOSTS=127.0.0.1,localhost
CALLBACK_ALLOWED_HOSTS=127.0.0.1
CALLBACK_BACKOFF_BASE_SECONDS=2
WEB_CONCURRENCY=2
LOG_LEVEL=INFO
ENV
set -a
# shellcheck disable=SC1091
. "$work/env"
set +a

procfile=Procfile
if [ ! -f gunicorn.conf.py ]; then
  echo "note: no gunicorn.conf.py yet; the web line falls back to gunicorn comms_project.wsgi --bind 127.0.0.1:\$PORT"
  sed 's|gunicorn -c gunicorn.conf.py comms_project.wsgi|gunicorn comms_project.wsgi --bind 127.0.0.1:$PORT --workers 2|' Procfile >"$work/Procfile"
  procfile="$work/Procfile"
fi

psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
python manage.py migrate --noinput --verbosity 0
SECRET="procfile-secret-$(date +%s)-0123456789abcdef"
python manage.py create_api_client procfile-client --department procfile-department --password "$SECRET" \
  --callback-base-url "http://127.0.0.1:$RECEIVER_PORT/hooks/" >/dev/null

# The callback receiver: answers 200 to every POST and appends what it got, one JSON line each.
python - "$RECEIVER_PORT" "$work/callbacks.jsonl" >"$work/receiver.log" 2>&1 <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, out = int(sys.argv[1]), sys.argv[2]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
PY
receiver=$!

honcho start -f "$procfile" -d "$PWD" -e "$work/env" -p "$WEB_PORT" >"$work/stack.log" 2>&1 &
stack=$!
BASE="http://127.0.0.1:$WEB_PORT"

# Readiness: /readyz, or the schema while /readyz does not exist on this branch.
ready=""
for _ in $(seq 150); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" || true)
  if [ "$code" = 200 ]; then ready=/readyz; break; fi
  if [ "$code" = 404 ]; then
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/communications/schema/")" = 200 ]; then
      echo "note: /readyz answers 404 on this branch; readiness checked on /communications/schema/"
      ready=/communications/schema/
      break
    fi
  fi
  kill -0 "$stack" 2>/dev/null || { echo "procfile_check: the stack stopped" >&2; exit 1; }
  sleep 0.2
done
[ -n "$ready" ] || { echo "procfile_check: $BASE$ready never answered 200" >&2; exit 1; }
echo "procfile_check: web ready ($ready answers 200)"

url="$BASE/communications/department/procfile-department/customer/procfile-customer/communication/historical"
body='{"callBackPathUrl": "batch/1", "saveMessageRequestList": [{"sourceUuid": "procfile-1",
  "sentOn": "2025-03-28T11:34:43.227Z",
  "messageAttributes": {"body": "Your car is ready", "type": "OUTGOING", "protocol": "TEXT", "purpose": "F"}}]}'
code=$(curl -s -o "$work/put.json" -w '%{http_code}' -u "procfile-client:$SECRET" -X PUT \
  -H 'Content-Type: application/json' --data "$body" "$url")
if [ "$code" != 200 ] || ! grep -q '"succesfullySubmittedSourceUuids":\["procfile-1"\]' "$work/put.json"; then
  echo "procfile_check: the PUT answered $code: $(cat "$work/put.json")" >&2
  exit 1
fi
if grep -q CALLBACK_REFUSED "$work/put.json"; then
  echo "procfile_check: the callback was refused: $(cat "$work/put.json")" >&2
  exit 1
fi
echo "procfile_check: PUT answered 200"

for _ in $(seq $((CALLBACK_WAIT * 5))); do
  [ -s "$work/callbacks.jsonl" ] && break
  sleep 0.2
done
if ! python - "$work/callbacks.jsonl" <<'PY'; then
import json, os, sys

lines = open(sys.argv[1]).read().splitlines() if os.path.exists(sys.argv[1]) else []
assert lines, "no callback arrived"
got = json.loads(lines[0])
assert got["path"] == "/hooks/batch/1", got["path"]
assert "procfile-1" in json.loads(got["body"])["succesfullySubmittedSourceUuids"], got["body"]
assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {k.lower() for k in got["headers"]}, got["headers"]
PY
  echo "procfile_check: no signed callback with the batch's result reached the receiver within ${CALLBACK_WAIT}s" >&2
  exit 1
fi
echo "procfile_check: the worker delivered the callback to $(python -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["path"])' "$work/callbacks.jsonl")"
echo "procfile_check: ok"
