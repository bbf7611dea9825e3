"""Stopping loses no URL: links found by pages that finish during the shutdown grace period are
kept, and the resumed run crawls them."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from aiohttp import web

from tests.site import Site
from tests.test_cli import clean_env

SLOW = 20


def serve_slow_fan(site: Site) -> None:
    """/ links to SLOW slow pages; each slow page links to one page nothing else links to."""
    site.page("/", *(f"/slow{i}" for i in range(SLOW)))

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        n = request.path.removeprefix("/slow")
        return web.Response(text=f"<title>{n}</title><a href='/only{n}'>x</a>",
                            content_type="text/html")

    for i in range(SLOW):
        site.route(f"/slow{i}", slow)
        site.page(f"/only{i}")


async def run(tmp_path: Path, stop_when_busy: Site | None = None) -> int:
    """Crawl seeds.txt into job/ and out.jsonl; with `stop_when_busy`, SIGTERM it once that
    site has four requests in flight. Returns the exit status."""
    args = ["seeds.txt", "--job-dir", "job", "-o", "out.jsonl", "--per-host", "4",
            "--concurrency", "4", "--sink-flush-seconds", "0.05", "--quiet"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", *args, cwd=tmp_path, env=clean_env(),
        stderr=asyncio.subprocess.PIPE)
    if stop_when_busy is not None:
        for _ in range(400):
            if stop_when_busy.gauge.active >= 4:
                break
            await asyncio.sleep(0.01)
        assert stop_when_busy.gauge.active >= 4
        proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None, err
    return proc.returncode


async def test_links_found_in_the_grace_period_are_crawled_on_resume(site: Site,
                                                                     tmp_path: Path) -> None:
    """SIGTERM with four slow pages in flight: they finish within the grace period, their
    links are journaled, and the resumed run crawls all 41 URLs, each once."""
    serve_slow_fan(site)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    assert await run(tmp_path, stop_when_busy=site) == 128 + signal.SIGTERM
    assert await run(tmp_path) == 0
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)) == 1 + 2 * SLOW
    assert all(site.page_hits()[f"/only{i}"] == 1 for i in range(SLOW))
