#!/usr/bin/env bash
# Set up and crawl.
#   ./crawl.sh                    serve examples/site on 127.0.0.1:8765 and crawl examples/seeds.txt
#   ./crawl.sh SEEDS [options]    crawl your own seeds: the same as `python -m crawler SEEDS ...`
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
"$root/scripts/setup-venv.sh"
python="$root/.venv/bin/python"

if [ $# -gt 0 ]; then
  exec "$python" -m crawler "$@"
fi

port=8765
if "$python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.5)" 2>/dev/null; then
  echo "crawl.sh: port $port on 127.0.0.1 is busy; stop what listens there and try again" >&2
  exit 1
fi
"$python" -m http.server --bind 127.0.0.1 "$port" --directory "$root/examples/site" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null' EXIT
for _ in $(seq 100); do
  "$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
  sleep 0.1
done

out="$root/example-output"
rm -rf "$out"
"$python" -m crawler "$root/examples/seeds.txt" --job-dir "$out/job" -o "$out/results.jsonl"
echo
echo "Records: $out/results.jsonl (JSON Lines) and $out/job/crawl.db (SQLite, table pages)."
"$python" - "$out/job/crawl.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT status, url, coalesce(title, content_type, error, '') FROM pages ORDER BY url")
for status, url, what in rows:
    print(f"  {status if status is not None else '-':>3}  {url:<45} {what}")
PY
