"""Start-up, measured: a one-page crawl against a local aiohttp site (robots.txt answers 404),
timed from exec to the first request (robots.txt), to the page's request and to the exit;
and `python -m crawler --help`. To compare two checkouts, run it with PYTHONPATH=<the other
checkout> beside a run without: the crawls run from a temporary directory, so PYTHONPATH
decides which `crawler` is imported.

    .venv/bin/python bench/startup.py [--rounds 5] [--ours-args="--parse-mode inline"]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

PORT = 8765


async def one_crawl(work: str, extra: list[str]) -> dict[str, float]:
    """Seconds from exec to robots.txt, to the page, and to the exit of one crawl of the
    seeds file in `work`."""
    seen: dict[str, float] = {}

    async def robots(_: web.Request) -> web.Response:
        seen.setdefault("robots", time.monotonic())
        return web.Response(status=404)

    async def page(_: web.Request) -> web.Response:
        seen.setdefault("page", time.monotonic())
        return web.Response(text="<title>x</title><a href='/'>x</a>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", PORT).start()
    try:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "crawler", "seeds.txt", "-o", "out.jsonl", "--job-dir", "job",
            "--quiet", *extra, cwd=work)
        if await proc.wait() != 0:
            raise SystemExit(f"bench: the crawl exited with {proc.returncode}")
        ended = time.monotonic()
    finally:
        await runner.cleanup()
    return {"first request": seen["robots"] - started, "page": seen["page"] - started,
            "exit": ended - started}


def crawl_seconds(extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        Path(work, "seeds.txt").write_text(f"http://127.0.0.1:{PORT}/\n")
        return asyncio.run(one_crawl(work, extra))


def help_seconds() -> float:
    """Seconds of `python -m crawler --help`: the command line's own imports."""
    with tempfile.TemporaryDirectory() as work:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "crawler", "--help"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ours-args", default="", help="extra flags for our crawler")
    args = parser.parse_args()
    runs = [{**crawl_seconds(args.ours_args.split()), "--help": help_seconds()}
            for _ in range(args.rounds)]
    print("| measure | median s | runs |\n|---|---|---|")
    for key in ("first request", "page", "exit", "--help"):
        values = [run[key] for run in runs]
        print(f"| {key} | {statistics.median(values):.3f} | "
              f"{', '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
