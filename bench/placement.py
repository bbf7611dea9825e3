"""Where should HTML be parsed? Our crawler on the same pages with each parse placement (inline
on the event loop, a thread pool, the process pool, auto): on real documentation (the Python
3.11 docs and the OpenJDK 17 API docs, served by nginx) and on generated sites of about 5 KB,
50 KB and 2 MB pages. Prints a table of pages/s, CPU per page and peak RSS.

    .venv/bin/python bench/placement.py [--corpus python-docs|jdk-docs|generated ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402
from run import REAL_CORPORA, REAL_PORT, Corpus, Result, run_ours, warm_page_cache  # noqa: E402
from servers import serve_static  # noqa: E402

SITES = [("5 KB", (4_000, 6_000), 1500), ("50 KB", (45_000, 55_000), 800), ("2 MB", (1_900_000,
         2_100_000), 40)]
MODES = ["inline", "thread", "process", "auto"]
HOSTS = ["127.0.0.21", "127.0.0.22"]
PORT = 8091


def corpora(names: list[str]) -> list[tuple[str, Corpus]]:
    """(label, corpus) for each name; "generated" stands for the three generated sites."""
    out = []
    for name in names:
        if name != "generated":
            root = REAL_CORPORA[name]
            out.append((name, Corpus(name, {("127.0.0.1", REAL_PORT): root},
                                     [f"http://127.0.0.1:{REAL_PORT}/index.html"], False)))
            continue
        for label, sizes, per_host in SITES:
            root = Path(tempfile.gettempdir()) / f"crawler-placement-{sizes[0]}"
            generate(root, [f"{h}:{PORT}" for h in HOSTS], per_host, sizes=sizes)
            out.append((f"{label} x {per_host * len(HOSTS)}", Corpus(
                label, {(h, PORT): root / f"{h}:{PORT}" for h in HOSTS},
                [f"http://{h}:{PORT}/" for h in HOSTS], True)))
    return out


def row(label: str, mode: str, result: Result) -> str:
    cpu = 1000 * result.usage.cpu / max(1, result.pages)
    busy = 100 * result.usage.cpu / result.usage.wall if result.usage.wall else 0
    return (f"| {label} | {mode} | {result.rate:.0f} | {cpu:.2f} | {busy:.0f} | "
            f"{result.usage.peak_rss / 2**20:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=[*REAL_CORPORA, "generated"], action="append")
    args = parser.parse_args()
    rows = ["| pages | placement | pages/s | CPU ms/page | CPU % | peak RSS MiB |",
            "|---|---|---|---|---|---|"]
    for label, corpus in corpora(args.corpus or [*REAL_CORPORA, "generated"]):
        with serve_static(corpus.sites):
            for mode in MODES:
                work = Path(tempfile.mkdtemp(prefix="bench-placement-"))
                for root in corpus.sites.values():
                    warm_page_cache(root)
                try:
                    result = run_ours(corpus.seeds, work, 64, ["--parse-mode", mode], corpus)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                rows.append(row(label, mode, result))
                print(rows[-1], file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
