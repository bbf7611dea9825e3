#!/usr/bin/env bash
# The benchmark in one command: sets up (bench/setup.sh), then runs bench/run.py.
#   bench/run.sh [--pages-per-host 2500] [--hosts 4] [--concurrency 64] [--only ours ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/bench/setup.sh"
exec "$root/.venv/bin/python" "$root/bench/run.py" "$@"
