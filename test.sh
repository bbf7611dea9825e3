#!/usr/bin/env bash
# Set up and run the whole test suite: the venv with test tools, the Debian packages the system
# tests use (when root), ruff, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/system-deps.sh
EXTRAS=test scripts/setup-venv.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
