#!/usr/bin/env bash
# Check the systemd units in deploy/systemd/ with systemd-analyze verify, installed in this
# checkout: /opt/historical-comms (the units' install folder) becomes this folder, so the
# ExecStart programs exist (.venv must be set up). systemd-analyze verify exits 0 after
# some problems (an unknown Type= is "ignoring"), so any message it prints fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd_check: systemd-analyze is not installed; skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in deploy/systemd/*.service; do
  sed "s|/opt/historical-comms|$PWD|g" "$unit" >"$work/$(basename "$unit")"
done
if ! output=$(systemd-analyze verify "$work"/*.service 2>&1) || [ -n "$output" ]; then
  printf '%s\n' "$output" | sed "s|$work/||g" >&2
  echo "systemd_check: the units in deploy/systemd/ have problems" >&2
  exit 1
fi
echo "systemd_check: $(ls deploy/systemd/*.service | wc -l) units verified"
