#!/usr/bin/env bash
# Set up and serve the app on SQLite with a demo department, API client, admin login and a
# small demo history. Writes .env beside manage.py on first run (DEBUG on, a generated
# SECRET_KEY, the SQLite database), so every README command works as printed afterwards;
# an existing .env is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
if [ ! -e .env ]; then
  secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  (
    umask 077
    cat >.env <<ENV
# Written by scripts/demo.sh for local development; demo.sh never overwrites it.
# Settings the environment sets win over these. Every setting: .env.example.
DEBUG=true
SECRET_KEY=$secret
DATABASE_URL=sqlite:///$PWD/db.sqlite3
ENV
  )
  echo "Wrote .env (DEBUG on, a generated SECRET_KEY, SQLite at $PWD/db.sqlite3)."
fi
export DEBUG="${DEBUG:-true}"
.venv/bin/python manage.py migrate --noinput --verbosity 0
.venv/bin/python manage.py setup_demo --base-url "http://127.0.0.1:${PORT}"
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
