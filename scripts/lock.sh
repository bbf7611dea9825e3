#!/usr/bin/env bash
# Make the locks from pyproject.toml: exact versions with hashes, for Python 3.11+ on any
# platform. requirements/crawl.lock is what the crawl needs (and the Docker image installs);
# requirements/test.lock adds the test tools at the same versions. Run after changing the
# dependencies in pyproject.toml, then commit both; tests/test_lock.py fails while they
# disagree. Needs uv (pip install uv).
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--generate-hashes --universal --python-version 3.11 --no-header --quiet)
uv pip compile pyproject.toml requirements/build.in "${common[@]}" -o requirements/crawl.lock
uv pip compile pyproject.toml requirements/build.in --extra test -c requirements/crawl.lock \
  "${common[@]}" -o requirements/test.lock
# A dependency some locked package asks for with extras is pinned with those extras too: pip
# before 24 (Debian 12's, Python 3.11's ensurepip) otherwise takes `python-socks[asyncio]` for an
# unpinned requirement and refuses the whole hash-checked install as soon as a newer release
# than the pinned one is out (spelled as the package spells the extra: pip 23 does not
# normalise it). tests/test_lock.py names any such dependency missing here.
with_extras=("python-socks[asyncio]" "lxml[html_clean]")
for lock in requirements/crawl.lock requirements/test.lock; do
  for requirement in "${with_extras[@]}"; do
    sed -i "s/^${requirement%%[*}==/${requirement}==/" "$lock"
  done
done
