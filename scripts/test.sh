#!/usr/bin/env bash
# Run the test suite: SQLite by default, PostgreSQL when DATABASE_URL=postgres://... is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
exec .venv/bin/pytest "$@"
