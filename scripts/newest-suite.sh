#!/usr/bin/env bash
# The suite against the newest releases pyproject.toml allows, in .venv-newest: a report of
# what the next `scripts/lock.sh` would bring (lxml 6.2 changed how a hostile sitemap fails),
# not a gate: users install the locks, and an upstream release must not block a change.
# Prints one line; the whole log is in .venv-newest/pytest.log. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.venv-newest
rm -rf "$venv"
python3 -m venv "$venv" || { echo "newest versions: could not make $venv"; exit 0; }
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]" \
    >"$venv/install.log" 2>&1; then
  echo "newest versions: install failed (see $venv/install.log)"
  exit 0
fi
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" >"$venv/pytest.log" 2>&1
code=$?
summary=$(grep -E '^[=]* ?[0-9]+ (passed|failed)' "$venv/pytest.log" | tail -n 1 | tr -d '=')
versions=$("$venv/bin/python" -m pip freeze 2>/dev/null | grep -Ei '^(aiohttp|lxml|selectolax|trafilatura)==' | tr '\n' ' ')
echo "newest versions (${versions% }): pytest exit $code,${summary:- no summary}"
grep -E '^(FAILED|ERROR) ' "$venv/pytest.log" | head -n 20
exit 0
