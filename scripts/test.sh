#!/usr/bin/env bash
# Set up and run every check: lint (ruff), types (mypy), layer contracts (import-linter), tests.
# Tests need redis-server and PostgreSQL's server binaries; as root they are installed with
# apt-get, otherwise this script says what to install. Python 3.11 or newer (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_pkgs[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    # Debian starts the services after install; the tests run their own servers.
    (service redis-server stop || true) >/dev/null 2>&1
    (service postgresql stop || true) >/dev/null 2>&1
  else
    echo "error: the tests need: ${need_pkgs[*]} (e.g. sudo apt-get install ${need_pkgs[*]})" >&2
    exit 1
  fi
fi

# promtool checks the shipped alert rules; without it those tests skip with a message.
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing prometheus (for promtool) with apt-get"
    install_prometheus() {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1
    }
    install_prometheus || { apt-get update -qq && install_prometheus; } \
      || echo "note: prometheus not installable: the promtool checks of docs/prometheus/alerts.yml skip"
    (service prometheus stop || true) >/dev/null 2>&1
  else
    echo "note: no promtool (apt-get install prometheus): the promtool checks of the alert rules skip"
  fi
fi

bash scripts/setup.sh
echo "== ruff";          .venv/bin/ruff check . && .venv/bin/ruff format --check --quiet .
echo "== mypy";          .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"
set +e
.venv/bin/pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = "5" ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
