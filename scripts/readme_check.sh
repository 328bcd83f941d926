#!/usr/bin/env bash
# The README's commands, run as a new operator would, in a fresh clone of this checkout:
# demo.sh (server in the background on a free port), the curls, the management commands,
# the callback worker started and stopped. Fails if any command fails. What is substituted into the
# commands, and the markers that skip a block or run it as a service, are described in
# scripts/readme_check.py. Options: --worktree (check uncommitted changes), --keep.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "$(command -v python3.11 || command -v python3)" scripts/readme_check.py "$@"
