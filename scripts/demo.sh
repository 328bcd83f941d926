#!/usr/bin/env bash
# Set up and serve the app on SQLite with a demo department, API client and admin login.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
export DEBUG="${DEBUG:-true}"
.venv/bin/python manage.py migrate --noinput --verbosity 0
.venv/bin/python manage.py setup_demo --base-url "http://127.0.0.1:${PORT}"
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
