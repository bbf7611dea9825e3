"""Live numbers of a running crawl: `--metrics-listen` (Prometheus text, parsed with
prometheus-client's own parser) and `--status-file`."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from crawler.util.counters import Histogram, status_class
from crawler.watch.metrics import families
from tests.site import Site


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_endpoint_serves_the_running_crawl(site: Site, crawl,
                                                         tmp_path: Path) -> None:
    """While the crawl runs, GET /metrics answers with its pages by status class, fetches,
    errors by kind, bytes, the latency histogram, in flight and queued, labelled by job; the
    status file holds the same numbers as JSON."""
    site.delay = 0.05
    site.page("/", *[f"/p{i}" for i in range(30)], "/missing")
    for i in range(30):
        site.page(f"/p{i}")
    port = free_port()
    status_path = tmp_path / "status.json"
    seen: list[str] = []
    statuses: list[dict] = []

    async def scrape() -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                        seen.append(await resp.text())
                except aiohttp.ClientConnectionError:
                    pass
                if status_path.exists():
                    statuses.append(json.loads(status_path.read_bytes()))
                await asyncio.sleep(0.05)

    scraper = asyncio.create_task(scrape())
    try:
        records = await crawl([site.url("/")], metrics_listen=f"127.0.0.1:{port}",
                              status_file=str(status_path), job_name="docs", concurrency=4,
                              per_host=4)
    finally:
        scraper.cancel()
    assert len(records) == 32
    assert seen, "the metrics endpoint never answered"
    last = samples(seen[-1])
    job = ("job", "docs")
    assert last[("crawler_pages_total", (job, ("status_class", "2xx")))] >= 1
    assert ("crawler_fetch_latency_seconds_bucket", (job, ("le", "+Inf"))) in last
    assert ("crawler_in_flight", (job,)) in last and ("crawler_queued", (job,)) in last
    assert last[("crawler_fetched_bytes_total", (job,))] > 0
    final = json.loads(status_path.read_bytes())
    assert final["state"] == "stopped" and final["pages"] == 32
    assert final["pages_by_class"] == {"2xx": 31, "4xx": 1}
    assert sum(final["fetches"]["by_class"].values()) == 33  # robots.txt is an exchange too
    assert any(s["state"] == "running" for s in statuses)


def test_families_follow_the_snapshot() -> None:
    """A snapshot's numbers become the exposition's, the histogram cumulative."""
    latency = Histogram()
    for seconds in (0.001, 0.02, 0.02, 40.0):
        latency.observe(seconds)
    snapshot = {"pages_by_class": {"2xx": 3, "none": 1}, "errors_by_kind": {"timeout": 1},
                "in_flight": 2, "queued": 7, "rate": 1.5,
                "fetches": {"by_class": {"2xx": 3}, "bytes": 99,
                            "latency_counts": latency.counts, "latency_sum": latency.total}}
    from prometheus_client.exposition import generate_latest
    from prometheus_client.registry import CollectorRegistry

    class Fixed:
        def collect(self):
            return families({"j": snapshot})

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed())
    got = samples(generate_latest(registry).decode())
    assert got[("crawler_pages_total", (("job", "j"), ("status_class", "none")))] == 1
    assert got[("crawler_errors_total", (("job", "j"), ("kind", "timeout")))] == 1
    assert got[("crawler_fetch_latency_seconds_bucket", (("job", "j"), ("le", "0.005")))] == 1
    assert got[("crawler_fetch_latency_seconds_bucket", (("job", "j"), ("le", "0.025")))] == 3
    assert got[("crawler_fetch_latency_seconds_bucket", (("job", "j"), ("le", "+Inf")))] == 4
    assert got[("crawler_queued", (("job", "j"),))] == 7
    assert status_class(404) == "4xx" and status_class(None) == "none"
