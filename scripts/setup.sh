#!/usr/bin/env bash
# Create a virtualenv (default .venv) and install bitbylaw with its dev tools. Safe to run again.
# PYTHON=/path/to/python picks the interpreter (3.11 or newer); VENV=.venv-3.13 another folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
  done
fi
VENV="${VENV:-.venv}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || { echo "error: bitbylaw needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[dev]'
