#!/usr/bin/env bash
# Set up and start bitbylaw in sandbox mode: embedded backend + the three simulators.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/bitbylaw sandbox "$@"
