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
