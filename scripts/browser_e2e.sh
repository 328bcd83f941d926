#!/usr/bin/env bash
# Browser end-to-end walk of the admin. Starts the app as the README's first command does
# (runserver, DEBUG, migrate, setup_demo) on a throwaway SQLite database and a free port,
# logs in as the staff member of the demo department that setup_demo prints, and runs
# e2e/test_admin_walk.py in Debian's chromium through Playwright. Screenshots: artifacts/transcript.png,
# message_list.png, docs.png, redoc.png. Needs /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  echo "browser_e2e: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2
  exit 2
fi
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
PORT="${E2E_PORT:-$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
export DEBUG=true DATABASE_URL="sqlite:///$work/e2e.sqlite3" LOG_LEVEL=WARNING
.venv/bin/python manage.py migrate --noinput --verbosity 0
# Without the demo history: the walk counts the conversations and messages it created.
demo=$(.venv/bin/python manage.py setup_demo --no-history --base-url "http://127.0.0.1:$PORT")
export E2E_BASE_URL="http://127.0.0.1:$PORT" E2E_API_CLIENT=demo-client E2E_DEPARTMENT=demo-department
E2E_API_SECRET=$(printf '%s\n' "$demo" | sed -n 's/^ *API secret *: *//p')
export E2E_API_SECRET
E2E_STAFF_USER=$(printf '%s\n' "$demo" | sed -n 's/^ *Staff login *: *[^ ]* *user \([^ ]*\) .*/\1/p')
E2E_STAFF_PASSWORD=$(printf '%s\n' "$demo" | sed -n 's/^ *Staff login *: .* password \([^ ]*\).*/\1/p')
export E2E_STAFF_USER E2E_STAFF_PASSWORD
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$E2E_BASE_URL/admin/login/" && break; sleep 0.2; done
mkdir -p artifacts
if ! .venv/bin/pytest -q -p no:cacheprovider e2e/test_admin_walk.py "$@"; then
  echo "--- server log" >&2; tail -50 "$work/server.log" >&2
  exit 1
fi
echo "browser_e2e: screenshots in artifacts/ (transcript, message_list, search, docs, redoc)"
