#!/usr/bin/env bash
# What the benchmarks need: nginx-light and wget2 (installed when root), the real documentation
# corpora (python3.11-doc, 530 pages; openjdk-17-doc, 10,136 pages), the crawler's venv with
# psutil, Scrapy and Playwright (bench/render.py) in venvs of their own; chromium for rendering.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
missing=()
for p in nginx-light wget2 python3.11-doc openjdk-17-doc chromium; do
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
if [ ! -x bench/.venv-playwright/bin/python ]; then  # bench/render.py's plain Playwright script
  .venv/bin/python -m venv bench/.venv-playwright   # it drives Debian's chromium by its path:
  bench/.venv-playwright/bin/pip install --quiet --disable-pip-version-check "playwright==1.65.2"
fi                                                  # no `playwright install`
