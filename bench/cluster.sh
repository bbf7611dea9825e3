#!/usr/bin/env bash
# The scale-out benchmark in one command: installs nginx-light, redis-server and postgresql
# (when root), the crawler's venv with psutil, then runs bench/cluster.py.
#   bench/cluster.sh [--workers 1,2,4] [--pages-per-host 2500] [--hosts 4] [--concurrency 64]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/system-deps.sh
scripts/setup-venv.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check "psutil>=7.0"
exec .venv/bin/python bench/cluster.py "$@"
