"""The image for real: the project's Dockerfile built with podman (a local stand-in for
python:3.11-slim, tests/containers.py), then run as docs/docker.md's `docker run` line runs it,
crawling a site on loopback through the host's network."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.containers import CRAWLER_IMAGE, build_crawler_image, engine, podman
from tests.site import Site

pytestmark = [pytest.mark.system, pytest.mark.timeout(1800)]


async def test_the_image_builds_and_crawls_a_loopback_site(site: Site, tmp_path: Path) -> None:
    site.page("/", "/a", "/b", title="Home")
    site.page("/a", "/b", title="A")
    site.page("/b", title="B")
    await asyncio.to_thread(engine)
    await asyncio.to_thread(build_crawler_image)
    data = tmp_path / "data"
    data.mkdir()
    (data / "seeds.txt").write_text(site.url("/") + "\n")
    user = f"{os.getuid()}:{os.getgid()}"
    run = await asyncio.to_thread(
        podman, "run", "--rm", "--network", "host", "--user", user, "-v", f"{data}:/data",
        CRAWLER_IMAGE, "/data/seeds.txt", "--job-dir", "/data/job", "-o", "/data/out.jsonl",
        timeout=300)
    assert "records in: /data/job/crawl.db, /data/out.jsonl" in run.stderr
    records = [json.loads(line) for line in (data / "out.jsonl").read_text().splitlines()]
    assert Counter(r["url"] for r in records) == Counter(site.url(p) for p in ("/", "/a", "/b"))
    assert {r["status"] for r in records} == {200}
    assert (data / "job" / "crawl.db").exists()
    version = await asyncio.to_thread(podman, "run", "--rm", CRAWLER_IMAGE, "--version")
    assert version.stdout.startswith("crawler ")
