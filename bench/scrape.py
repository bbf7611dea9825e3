"""Scraping, measured on a real corpus: Python's HTML documentation (python3.11-doc, 530 pages)
served by nginx on loopback, all runs in one go.

- rules: our crawler with --extract bench/docs_rules.toml, against Scrapy running the same
  selectors with parsel (bench/scrapy_rules_spider.py), and our crawler without rules;
- content: --content text with the parse pool on every core (--parse-mode process) against
  parsing on the event loop (--parse-mode inline; pages of over 4,000 tags still go to the
  pool) and against a pool of one worker (one core's worth of parsing).

    bench/scrape.sh [--concurrency 16] [--only rules|content]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DOCS = Path("/usr/share/doc/python3.11/html")
sys.path.insert(0, str(BENCH))

from measure import run_measured  # noqa: E402
from run import Result, warm_page_cache  # noqa: E402
from servers import serve_static  # noqa: E402


def cpu_ms(run: Result) -> float:
    return 1000 * run.usage.cpu / run.pages if run.pages else 0.0


def html_pages(out: Path, field: str | None) -> int:
    """Pages answered 200 whose record has `field` filled (or any, when None)."""
    count = 0
    for line in out.open():
        record = json.loads(line)
        if record.get("status", 200) == 200 and record["url"].endswith(".html") and (
                field is None or record.get(field)):
            count += 1
    return count


def ours(name: str, seed: str, work: Path, concurrency: int, flags: list[str],
         field: str | None) -> Result:
    (work / "seeds.txt").write_text(seed + "\n")
    out = work / "ours.jsonl"
    usage = run_measured(
        [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", str(out),
         "--job-dir", str(work / "job"), "--concurrency", str(concurrency),
         "--per-host", str(concurrency), "--quiet", *flags], work, log=work / "ours.log")
    return Result(name, html_pages(out, field), usage)


def scrapy(seed: str, work: Path, concurrency: int) -> Result:
    out = work / "scrapy.jsonl"
    usage = run_measured(
        [str(BENCH / ".venv-scrapy/bin/scrapy"), "runspider",
         str(BENCH / "scrapy_rules_spider.py"), "-a", f"seeds={seed}", "-o", str(out),
         "-s", f"CONCURRENT_REQUESTS={concurrency}",
         "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"],
        work, env={**os.environ, "SCRAPY_SETTINGS_MODULE": "",
                   "PYTHONPATH": str(BENCH)}, log=work / "scrapy.log")
    return Result("Scrapy 2.19 + parsel, same selectors", html_pages(out, None), usage)


def table(runs: list[Result], baseline: Result | None) -> str:
    rows = ["| run | pages | seconds | pages/s | CPU ms/page | CPU % | peak RSS MiB | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        ratio = f"{r.rate / baseline.rate:.2f}x" if baseline and baseline.rate else "-"
        rows.append(f"| {r.name} | {r.pages} | {r.usage.wall:.1f} | {r.rate:.1f} | "
                    f"{cpu_ms(r):.2f} | {100 * r.usage.cpu / r.usage.wall:.0f} | "
                    f"{r.usage.peak_rss / 2**20:.0f} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--only", choices=["rules", "content"], action="append")
    args = parser.parse_args()
    if not (DOCS / "index.html").is_file():
        sys.exit(f"bench: {DOCS} is missing (apt-get install python3.11-doc)")
    seed = f"http://127.0.0.1:{args.port}/index.html"
    rules = ["--extract", str(BENCH / "docs_rules.toml")]
    plans = {
        "rules": [("ours, --extract", rules, "data"), ("scrapy", [], None),
                  ("ours, no extraction", [], None)],
        "content": [("ours, --content text, --parse-mode process (2 workers)",
                     ["--content", "text", "--parse-mode", "process"], "content"),
                    ("ours, --content text, --parse-mode inline",
                     ["--content", "text", "--parse-mode", "inline"], "content"),
                    ("ours, --content text, --parse-mode process --parse-workers 1",
                     ["--content", "text", "--parse-mode", "process", "--parse-workers", "1"],
                     "content")],
    }
    with serve_static({("127.0.0.1", args.port): DOCS}):
        for what in args.only or ["rules", "content"]:
            runs: list[Result] = []
            for name, flags, field in plans[what]:
                work = Path(tempfile.mkdtemp(prefix="bench-scrape-"))
                warm_page_cache(DOCS)
                try:
                    runs.append(scrapy(seed, work, args.concurrency) if name == "scrapy" else
                                ours(name, seed, work, args.concurrency, flags, field))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                print(f"{runs[-1].name}: {runs[-1].pages} pages in {runs[-1].usage.wall:.1f}s",
                      file=sys.stderr)
            print(f"\n{what}: Python 3.11 docs (nginx, 127.0.0.1), concurrency "
                  f"{args.concurrency}, robots.txt obeyed, JSON Lines written; "
                  f"{os.cpu_count()} CPUs; ratio = pages/s against the last run\n")
            print(table(runs, runs[-1]))


if __name__ == "__main__":
    main()
