#!/usr/bin/env bash
# Scraping benchmarks in one command: sets up (bench/setup.sh), then runs bench/scrape.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/bench/setup.sh"
exec "$root/.venv/bin/python" "$root/bench/scrape.py" "$@"
