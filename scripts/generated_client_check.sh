#!/usr/bin/env bash
# Generate a Python client from the live /communications/schema/ (openapi-python-client) and
# use it to import and read back the seed example against a live gunicorn on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CHECK_PORT:-8767}"
work=$(mktemp -d)
"$(command -v python3.11 || command -v python3)" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check openapi-python-client==0.29.1
export DEBUG=false SECRET_KEY="client-check-$(date +%s)-not-secret" DATABASE_URL="sqlite:///$work/db.sqlite3"
export ALLOWED_HOSTS="127.0.0.1,localhost" LOG_LEVEL=WARNING
export CHECK_CLIENT=generated-client CHECK_SECRET="generated-client-secret-$(date +%s)" CHECK_DEPARTMENT=client-department
export CHECK_BASE_URL="http://127.0.0.1:$PORT"
.venv/bin/python manage.py migrate --noinput --verbosity 0
.venv/bin/python manage.py create_api_client "$CHECK_CLIENT" --department "$CHECK_DEPARTMENT" --password "$CHECK_SECRET" >/dev/null
.venv/bin/gunicorn comms_project.wsgi --bind "127.0.0.1:$PORT" --workers 1 --log-level warning --access-logfile /dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf -o "$work/schema.json" "$CHECK_BASE_URL/communications/schema/?format=json" && break; sleep 0.2; done
(cd "$work" && "$work/venv/bin/openapi-python-client" generate --path schema.json --output-path client >/dev/null 2>&1)
PYTHONPATH="$work/client" "$work/venv/bin/python" e2e/generated_client_check.py
