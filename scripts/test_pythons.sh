#!/usr/bin/env bash
# The fast suite (everything but the slow multi-process tests) on Python 3.12 and 3.13, each in
# its own virtualenv (.venv-3.12, .venv-3.13). `scripts/test.sh` runs the whole suite on 3.11.
# An interpreter that is not installed (on PATH as python3.X, or under pyenv) is skipped with a
# message, not an error: the supported minimum is what the whole suite runs on.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {  # $1 = 3.12
  if command -v "python$1" >/dev/null 2>&1 && "python$1" -c 'import sys' >/dev/null 2>&1; then
    command -v "python$1"; return
  fi
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  local found
  found="$(ls -d "$root"/versions/"$1".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$found" ] && echo "$found"
}

status=0
for version in 3.12 3.13; do
  python="$(find_python "$version" || true)"
  if [ -z "$python" ]; then
    echo "== python $version: skipped (not installed; pyenv install $version adds it)"
    continue
  fi
  echo "== python $version: fast suite ($python)"
  PYTHON="$python" VENV=".venv-$version" bash scripts/setup.sh
  set +e
  ".venv-$version/bin/pytest" -q -p no:cacheprovider -m "not slow"
  result=$?
  set -e
  if [ "$result" != "0" ]; then
    echo "error: the fast suite failed on python $version (exit $result)" >&2
    status=1
  fi
done
exit "$status"
