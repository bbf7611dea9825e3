"""Where should HTML be parsed? Our crawler on the same site with each parse placement (inline
on the event loop, a thread pool, the process pool, auto), on pages of about 5 KB, 50 KB and
2 MB. Prints a table of pages/s, CPU per page and peak RSS.

    .venv/bin/python bench/placement.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402
from run import run_ours  # noqa: E402
from servers import serve_static  # noqa: E402

SITES = [("5 KB", (4_000, 6_000), 1500), ("50 KB", (45_000, 55_000), 800), ("2 MB", (1_900_000,
         2_100_000), 40)]
MODES = ["inline", "thread", "process", "auto"]
HOSTS = ["127.0.0.21", "127.0.0.22"]
PORT = 8091


def main() -> None:
    rows = ["| pages | placement | pages/s | CPU ms/page | peak RSS MiB |", "|---|---|---|---|---|"]
    for label, sizes, per_host in SITES:
        root = Path(tempfile.gettempdir()) / f"crawler-placement-{sizes[0]}"
        generate(root, [f"{h}:{PORT}" for h in HOSTS], per_host, sizes=sizes)
        seeds = [f"http://{h}:{PORT}/" for h in HOSTS]
        with serve_static({(h, PORT): root / f"{h}:{PORT}" for h in HOSTS}):
            for mode in MODES:
                work = Path(tempfile.mkdtemp(prefix="bench-placement-"))
                try:
                    result = run_ours(seeds, work, 64, ["--parse-mode", mode])
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                cpu = 1000 * result.usage.cpu / max(1, result.pages)
                rows.append(f"| {label} x {result.pages} | {mode} | {result.rate:.0f} | "
                            f"{cpu:.2f} | {result.usage.peak_rss / 2**20:.0f} |")
                print(rows[-1], file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
