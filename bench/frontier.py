"""The frontier alone, at scale: 5 million distinct URLs over 10,000 hosts (plus 1 million
repeats), added as pages would add their links, then all handed out and finished. Prints
URLs/s for both phases and the peak RSS of this process.

    .venv/bin/python bench/frontier.py [--urls 5000000] [--hosts 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.frontier.local import Frontier
from crawler.frontier.spill import SpillQueue
from crawler.urls import fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=5_000_000)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--memory", type=int, default=100_000, help="--frontier-memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        spill = SpillQueue(Path(work) / "spill.db")
        frontier = Frontier(per_host=2, memory_window=args.memory, spill=spill)
        started = time.perf_counter()
        fed = 0
        for i in range(args.urls):
            url = f"http://host{i % args.hosts}.example/section/{i // args.hosts}/page.html"
            frontier.add(url, fingerprint(url), 1)
            fed += 1
            if i % 5 == 0:  # a link seen before, as crawls see them all the time
                old = f"http://host{(i // 2) % args.hosts}.example/section/" \
                      f"{(i // 2) // args.hosts}/page.html"
                frontier.add(old, fingerprint(old), 1)
                fed += 1
        added = time.perf_counter() - started
        assert frontier.admitted == args.urls, frontier.stats()
        started = time.perf_counter()
        handed = 0
        while (request := frontier.next_ready(0.0)) is not None:
            frontier.done(request)
            handed += 1
        drained = time.perf_counter() - started
        assert handed == args.urls and frontier.pending == 0
        spill.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| frontier | {args.urls:,} distinct URLs ({fed:,} offered) over {args.hosts:,} hosts "
          f"| add {fed / added:,.0f} URLs/s | hand out + done {handed / drained:,.0f} URLs/s "
          f"| peak RSS {peak:.0f} MiB |")


if __name__ == "__main__":
    main()
