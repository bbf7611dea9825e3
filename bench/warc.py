"""What a WARC output costs: our crawler on a real corpus with JSON Lines alone, then with
JSON Lines and `-o crawl.warc.gz`, alternating, in one run.

    .venv/bin/python bench/warc.py [--corpus jdk-docs|python-docs|generated] [--rounds 2]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import (  # noqa: E402
    Result,
    corpus_for,
    rounds_parser,
    run_ours,
    warm_page_cache,
)
from servers import serve_static  # noqa: E402


def main() -> None:
    parser = rounds_parser(__doc__)
    args = parser.parse_args()
    corpus, about = corpus_for(args.corpus, args)
    arms = ("JSON Lines", "JSON Lines + WARC (gzip)")
    results: dict[str, list[Result]] = {arm: [] for arm in arms}
    sizes: list[int] = []
    with serve_static(corpus.sites):
        for root in corpus.sites.values():
            warm_page_cache(root)
        for _ in range(args.rounds):
            for arm in arms:
                work = Path(tempfile.mkdtemp(prefix="bench-warc-"))
                try:
                    extra = ["-o", str(work / "crawl.warc.gz")] if "WARC" in arm else []
                    result = run_ours(corpus.seeds, work, args.concurrency, extra, corpus)
                    results[arm].append(result)
                    if extra:
                        sizes.append(sum(p.stat().st_size for p in work.glob("crawl-*.warc.gz")))
                    print(f"{arm}: {result.pages} pages at {result.rate:.1f} pages/s",
                          file=sys.stderr)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{about} (nginx, loopback), concurrency {args.concurrency}, {args.rounds} rounds "
          "alternating\n")
    print("| outputs | pages | pages/s (median) | CPU ms/page (median) | peak RSS MiB | "
          "vs JSON Lines alone |")
    print("|---|---|---|---|---|---|")
    base = statistics.median(r.rate for r in results["JSON Lines"])
    base_cpu = statistics.median(r.usage.cpu / r.pages * 1000 for r in results["JSON Lines"])
    for arm, runs in results.items():
        rate = statistics.median(r.rate for r in runs)
        cpu = statistics.median(r.usage.cpu / r.pages * 1000 for r in runs)
        rss = max(r.usage.peak_rss for r in runs) / 2**20
        print(f"| {arm} | {runs[0].pages} | {rate:.1f} | {cpu:.2f} | {rss:.0f} | "
              f"{rate / base:.2f}x pages/s, {cpu / base_cpu:.2f}x CPU |")
    print(f"\nWARC written: {statistics.median(sizes) / 2**20:.0f} MiB per crawl")


if __name__ == "__main__":
    main()
