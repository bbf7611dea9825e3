"""One command, three crawlers, one table per corpus: our crawler, Scrapy and wget2 crawl the
same pages served by nginx on loopback, with the same concurrency, robots.txt obeyed and outputs
written. The corpora: a generated site, and real documentation from Debian's packages (the
Python 3.11 docs, 530 pages; the OpenJDK 17 API docs, about 10,000 pages).

    bench/run.sh [--corpus generated|python-docs|jdk-docs ...] [--only ours|scrapy|wget2 ...]
                 [--pages-per-host 2500] [--hosts 4] [--concurrency 64]
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


@dataclass(frozen=True)
class Corpus:
    """Pages to crawl: where they are served from, the seeds, and which URLs count as pages
    (the generated site's pages are under /p/; a real corpus counts its .html pages)."""

    name: str
    sites: dict[tuple[str, int], Path]
    seeds: list[str]
    generated: bool

    def is_page(self, url: str) -> bool:
        return "/p/" in url if self.generated else url.split("#")[0].endswith(".html")


# Real documentation corpora from Debian's packages (bench/setup.sh installs them).
REAL_CORPORA = {
    "python-docs": Path("/usr/share/doc/python3.11/html"),
    "jdk-docs": Path("/usr/share/doc/openjdk-17-jre-headless/api"),
}
REAL_PORT = 8096


def count_ours(out: Path, corpus: Corpus) -> int:
    count = 0
    for line in out.open():
        record = json.loads(line)
        count += record.get("status") == 200 and corpus.is_page(record["url"])
    return count


def count_scrapy(out: Path, corpus: Corpus) -> int:
    return sum(1 for line in out.open() if corpus.is_page(json.loads(line)["url"]))


def count_wget2(folder: Path, corpus: Corpus) -> int:
    if corpus.generated:
        return sum(1 for path in folder.rglob("*.html") if path.parent.name == "p")
    return sum(1 for _ in folder.rglob("*.html"))


def run_ours(seeds: list[str], work: Path, concurrency: int, extra: list[str],
             corpus: Corpus | None = None) -> Result:
    (work / "seeds.txt").write_text("\n".join(seeds) + "\n")
    out = work / "ours.jsonl"
    usage = run_measured(
        [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", str(out),
         "--job-dir", str(work / "job"), "--concurrency", str(concurrency),
         "--per-host", str(concurrency), "--quiet", *extra],
        work, log=work / "ours.log")
    corpus = corpus or Corpus("generated", {}, seeds, True)
    return Result("crawler (ours)", count_ours(out, corpus), usage)


def run_scrapy(seeds: list[str], work: Path, concurrency: int, corpus: Corpus) -> Result:
    out = work / "scrapy.jsonl"
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": ""}
    usage = run_measured(
        [str(BENCH / ".venv-scrapy/bin/scrapy"), "runspider", str(BENCH / "scrapy_spider.py"),
         "-a", "seeds=" + ",".join(seeds), "-o", str(out),
         "-s", f"CONCURRENT_REQUESTS={concurrency}",
         "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"],
        work, env=env, log=work / "scrapy.log")
    return Result("Scrapy 2.19 CrawlSpider", count_scrapy(out, corpus), usage)


def run_wget2(seeds: list[str], work: Path, concurrency: int, corpus: Corpus) -> Result:
    folder = work / "wget2"
    usage = run_measured(
        ["wget2", "-r", "-l", "inf", "-q", f"--max-threads={concurrency}", "-P", str(folder),
         "--reject", "css,js,png,gif,svg,zip", *seeds], work, log=work / "wget2.log")
    return Result("wget2 -r", count_wget2(folder, corpus), usage)


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
    rows = ["| crawler | pages | seconds | pages/s | CPU ms/page | CPU % | peak RSS MiB | "
            "peak PSS MiB | vs Scrapy | vs wget2 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio_s = f"{r.rate / scrapy.rate:.1f}x" if scrapy and scrapy.rate else "-"
        ratio_w = f"{r.rate / wget2.rate:.2f}x" if wget2 and wget2.rate else "-"
        cpu = 1000 * r.usage.cpu / r.pages if r.pages else 0
        busy = 100 * r.usage.cpu / r.usage.wall if r.usage.wall else 0
        rows.append(f"| {r.name} | {r.pages} | {r.usage.wall:.1f} | {r.rate:.0f} | {cpu:.2f} | "
                    f"{busy:.0f} | {r.usage.peak_rss / 2**20:.0f} | "
                    f"{r.usage.peak_pss / 2**20:.0f} | {ratio_s} | {ratio_w} |")
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


def corpus_for(name: str, args: argparse.Namespace) -> tuple[Corpus, str]:
    """The corpus called `name` (the generated site is written on first use) and a line that
    describes it."""
    if name == "generated":
        hosts, names = site_hosts(args)
        pages = generate(args.site, names, args.pages_per_host)
        sites = {(h, args.port): args.site / f"{h}:{args.port}" for h in hosts}
        return (Corpus(name, sites, [f"http://{n}/" for n in names], True),
                f"generated site: {pages} pages of 20-60 KB on {args.hosts} hosts")
    root = REAL_CORPORA[name]
    if not (root / "index.html").is_file():
        sys.exit(f"bench: {root} is missing (bench/setup.sh installs it)")
    files = sum(1 for _ in root.rglob("*.html"))
    return (Corpus(name, {("127.0.0.1", REAL_PORT): root},
                   [f"http://127.0.0.1:{REAL_PORT}/index.html"], False),
            f"{name}: {root} ({files} .html files)")


def run_corpus(corpus: Corpus, which: list[str], args: argparse.Namespace) -> list[Result]:
    """Each crawler in `which` on `corpus`, one after the other, the server kept up."""
    results: list[Result] = []
    with serve_static(corpus.sites):
        for name in which:
            work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
            for root in corpus.sites.values():
                warm_page_cache(root)
            try:
                if name == "ours":
                    results.append(run_ours(corpus.seeds, work, args.concurrency,
                                            args.ours_args.split(), corpus))
                elif name == "scrapy":
                    results.append(run_scrapy(corpus.seeds, work, args.concurrency, corpus))
                else:
                    results.append(run_wget2(corpus.seeds, work, args.concurrency, corpus))
                print(f"{corpus.name} {name}: {results[-1].pages} pages in "
                      f"{results[-1].usage.wall:.1f}s", file=sys.stderr)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return results


def rounds_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments of a bench that compares runs of ours on one corpus, in rounds."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_arguments(parser)
    parser.add_argument("--corpus", choices=["generated", *REAL_CORPORA], default="jdk-docs")
    parser.add_argument("--rounds", type=int, default=2)
    return parser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_arguments(parser)
    parser.add_argument("--corpus", choices=["generated", *REAL_CORPORA], action="append")
    parser.add_argument("--only", choices=["ours", "scrapy", "wget2"], action="append")
    parser.add_argument("--ours-args", default="", help="extra flags for our crawler")
    args = parser.parse_args()
    which = args.only or ["ours", "scrapy", "wget2"]
    for name in args.corpus or ["generated", *REAL_CORPORA]:
        corpus, about = corpus_for(name, args)
        results = run_corpus(corpus, which, args)
        print(f"\n{about} (nginx, loopback), concurrency {args.concurrency}, robots.txt "
              f"obeyed, outputs written; {os.cpu_count()} CPUs\n")
        print(table(results), flush=True)


if __name__ == "__main__":
    main()
