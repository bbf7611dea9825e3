#!/usr/bin/env bash
# The benchmark in one command: installs nginx-light and wget2 (when root), the crawler's venv
# with psutil, Scrapy in its own venv (bench/.venv-scrapy), then runs bench/run.py.
#   bench/run.sh [--pages-per-host 2500] [--hosts 4] [--concurrency 64] [--only ours ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
missing=()
for p in nginx-light wget2; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bench: please install ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  fi
fi
scripts/setup-venv.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check "psutil>=7.0"
if [ ! -x bench/.venv-scrapy/bin/scrapy ]; then
  .venv/bin/python -m venv bench/.venv-scrapy
  bench/.venv-scrapy/bin/pip install --quiet --disable-pip-version-check "scrapy==2.19.0"
fi
exec .venv/bin/python bench/run.py "$@"
