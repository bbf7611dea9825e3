"""One command, three crawlers, one table: our crawler, Scrapy and wget2 crawl the same
generated site served by nginx on loopback, with the same concurrency, robots.txt obeyed and
outputs written.

    bench/run.sh [--pages-per-host 2500] [--hosts 4] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402
from measure import Usage, run_measured  # noqa: E402
from servers import serve_static  # noqa: E402


@dataclass
class Result:
    name: str
    pages: int
    usage: Usage

    @property
    def rate(self) -> float:
        return self.pages / self.usage.wall if self.usage.wall else 0.0


def count_ours(out: Path) -> int:
    return sum(1 for line in out.open() if json.loads(line).get("status") == 200
               and "/p/" in json.loads(line)["url"])


def count_scrapy(out: Path) -> int:
    return sum(1 for line in out.open() if "/p/" in json.loads(line)["url"])


def count_wget2(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*.html") if path.parent.name == "p")


def run_ours(seeds: list[str], work: Path, concurrency: int, extra: list[str]) -> Result:
    (work / "seeds.txt").write_text("\n".join(seeds) + "\n")
    out = work / "ours.jsonl"
    usage = run_measured(
        [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", str(out),
         "--job-dir", str(work / "job"), "--concurrency", str(concurrency),
         "--per-host", str(concurrency), "--quiet", *extra],
        work, log=work / "ours.log")
    return Result("crawler (ours)", count_ours(out), usage)


def run_scrapy(seeds: list[str], work: Path, concurrency: int) -> Result:
    out = work / "scrapy.jsonl"
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": ""}
    usage = run_measured(
        [str(BENCH / ".venv-scrapy/bin/scrapy"), "runspider", str(BENCH / "scrapy_spider.py"),
         "-a", "seeds=" + ",".join(seeds), "-o", str(out),
         "-s", f"CONCURRENT_REQUESTS={concurrency}",
         "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"],
        work, env=env, log=work / "scrapy.log")
    return Result("Scrapy 2.19 CrawlSpider", count_scrapy(out), usage)


def run_wget2(seeds: list[str], work: Path, concurrency: int) -> Result:
    folder = work / "wget2"
    usage = run_measured(
        ["wget2", "-r", "-l", "inf", "-q", f"--max-threads={concurrency}", "-P", str(folder),
         "--reject", "css", *seeds], work, log=work / "wget2.log")
    return Result("wget2 -r", count_wget2(folder), usage)


def warm_page_cache(root: Path) -> None:
    """Read every file of the site, so each crawler meets the same warm page cache (this
    machine's kernel reclaims cache proactively, and a cold cache makes nginx the bottleneck)."""
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(1 << 20):
                    pass


def table(results: list[Result]) -> str:
    scrapy = next((r for r in results if r.name.startswith("Scrapy")), None)
    wget2 = next((r for r in results if r.name.startswith("wget2")), None)
    rows = ["| crawler | pages | seconds | pages/s | CPU ms/page | peak RSS MiB | "
            "vs Scrapy | vs wget2 |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio_s = f"{r.rate / scrapy.rate:.1f}x" if scrapy and scrapy.rate else "-"
        ratio_w = f"{100 * r.rate / wget2.rate:.0f}%" if wget2 and wget2.rate else "-"
        cpu = 1000 * r.usage.cpu / r.pages if r.pages else 0
        rows.append(f"| {r.name} | {r.pages} | {r.usage.wall:.1f} | {r.rate:.0f} | {cpu:.2f} | "
                    f"{r.usage.peak_rss / 2**20:.0f} | {ratio_s} | {ratio_w} |")
    return "\n".join(rows)


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    """The generated site's size, where it is served, and each crawler's concurrency."""
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pages-per-host", type=int, default=2500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--site", type=Path, default=Path(tempfile.gettempdir()) / "crawler-bench")


def site_hosts(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The bench hosts' addresses (127.0.0.11, ...) and their host:port names."""
    hosts = [f"127.0.0.{11 + i}" for i in range(args.hosts)]
    return hosts, [f"{h}:{args.port}" for h in hosts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_arguments(parser)
    parser.add_argument("--only", choices=["ours", "scrapy", "wget2"], action="append")
    parser.add_argument("--ours-args", default="", help="extra flags for our crawler")
    args = parser.parse_args()
    hosts, names = site_hosts(args)
    pages = generate(args.site, names, args.pages_per_host)
    seeds = [f"http://{n}/" for n in names]
    which = args.only or ["ours", "scrapy", "wget2"]
    results: list[Result] = []
    with serve_static({(h, args.port): args.site / f"{h}:{args.port}" for h in hosts}):
        for name in which:
            work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
            warm_page_cache(args.site)
            try:
                if name == "ours":
                    results.append(run_ours(seeds, work, args.concurrency,
                                            args.ours_args.split()))
                elif name == "scrapy":
                    results.append(run_scrapy(seeds, work, args.concurrency))
                else:
                    results.append(run_wget2(seeds, work, args.concurrency))
                print(f"{name}: {results[-1].pages} pages in {results[-1].usage.wall:.1f}s",
                      file=sys.stderr)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    print(f"\n{pages} pages of 20-60 KB on {args.hosts} hosts (nginx, 127.0.0.x), concurrency "
          f"{args.concurrency}, robots.txt obeyed, outputs written; {os.cpu_count()} CPUs\n")
    print(table(results))


if __name__ == "__main__":
    main()
