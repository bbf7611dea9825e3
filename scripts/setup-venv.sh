#!/usr/bin/env bash
# Create .venv with Python >= 3.11 and install the crawler into it (editable), its dependencies
# from requirements/crawl.lock: exact versions, every file hash-checked, so a fresh machine gets
# what CI tested. EXTRAS=test installs requirements/test.lock (the test tools too). Installs
# Debian's python3-venv first when it is missing and we are root; otherwise says which package
# to install. scripts/lock.sh remakes the locks from pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "setup: Python 3.11 or newer is needed (Debian: apt-get install python3)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing Debian's python3-venv" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv .venv
    else
      echo "setup: the venv module is missing: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi

lock=requirements/crawl.lock
case "${EXTRAS:-}" in
  "") ;;
  test) lock=requirements/test.lock ;;
  *) echo "setup: EXTRAS=${EXTRAS} is not known (test, or none)" >&2; exit 1 ;;
esac
# A second run is instant: the install is skipped while pyproject.toml, the lock and the extras
# are the ones the venv was last set up with (the stamp), so no package index is asked.
stamp=.venv/setup.stamp
want="$(cat pyproject.toml requirements/*.lock | sha256sum | cut -d' ' -f1) ${EXTRAS:-}"
if [ -f "$stamp" ]; then
  have=$(cat "$stamp")
  # the same pyproject.toml, and the extras asked for (none is covered by any)
  if [ "$have" = "$want" ] || { [ -z "${EXTRAS:-}" ] && [ "${have%% *}" = "${want%% *}" ]; }; then
    exit 0
  fi
fi
log=.venv/setup.log
pip=(.venv/bin/python -m pip install --disable-pip-version-check)
if ! { "${pip[@]}" --require-hashes -r "$lock" &&
       "${pip[@]}" --no-deps --no-build-isolation -e .; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: pip install failed (log above, also in $log)" >&2
  exit 1
fi
echo "$want" >"$stamp"
