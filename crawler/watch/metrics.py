"""Prometheus metrics from live snapshots (crawler.watch.live), one `job` label per crawl, and the
`--metrics-listen HOST:PORT` endpoint of a one-process crawl or a cluster worker.

The numbers are the snapshot's: a counter starts at zero with each crawl process, as Prometheus
expects of a restarted process (`rate()` and `increase()` handle the reset)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from crawler.settings import split_listen
from crawler.util.counters import LATENCY_BUCKETS

log = logging.getLogger(__name__)
Snapshots = Callable[[], Mapping[str, Mapping[str, Any]]]  # job label -> live snapshot


def families(snapshots: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    """The metric families of every job's snapshot."""
    pages = CounterMetricFamily("crawler_pages", "Records written, by HTTP status class "
                                "(none: no answer)", labels=["job", "status_class"])
    fetches = CounterMetricFamily("crawler_fetches", "HTTP exchanges, robots.txt and retries "
                                  "included, by status class", labels=["job", "status_class"])
    errors = CounterMetricFamily("crawler_errors", "Records with an error, by kind",
                                 labels=["job", "kind"])
    fetched = CounterMetricFamily("crawler_fetched_bytes", "Body bytes received (decoded)",
                                  labels=["job"])
    latency = HistogramMetricFamily("crawler_fetch_latency_seconds", "Time from request to "
                                    "the whole body", labels=["job"])
    in_flight = GaugeMetricFamily("crawler_in_flight", "URLs being fetched", labels=["job"])
    queued = GaugeMetricFamily("crawler_queued", "URLs waiting", labels=["job"])
    rate = GaugeMetricFamily("crawler_pages_per_second", "Pages per second since the crawl "
                             "process started", labels=["job"])
    for job, snap in sorted(snapshots.items()):
        for status_class, n in sorted(snap.get("pages_by_class", {}).items()):
            pages.add_metric([job, status_class], n)
        fetch = snap.get("fetches", {})
        for status_class, n in sorted(fetch.get("by_class", {}).items()):
            fetches.add_metric([job, status_class], n)
        for kind, n in sorted(snap.get("errors_by_kind", {}).items()):
            errors.add_metric([job, kind], n)
        fetched.add_metric([job], fetch.get("bytes", 0))
        counts = fetch.get("latency_counts") or [0] * (len(LATENCY_BUCKETS) + 1)
        cumulative, buckets = 0, []
        for bound, n in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts, strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        latency.add_metric([job], buckets, fetch.get("latency_sum", 0.0))
        in_flight.add_metric([job], snap.get("in_flight", 0))
        queued.add_metric([job], snap.get("queued", 0))
        rate.add_metric([job], snap.get("rate", 0.0))
    yield from (pages, fetches, errors, fetched, latency, in_flight, queued, rate)


class SnapshotCollector(Collector):
    """A prometheus-client collector over a function that returns the jobs' snapshots."""

    def __init__(self, snapshots: Snapshots) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        yield from families(self.snapshots())


def registry_for(snapshots: Snapshots) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshots))
    return registry


def metrics_handler(registry: CollectorRegistry) -> Callable[[web.Request], Any]:
    async def handle(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
    return handle


class MetricsServer:
    """`--metrics-listen`: GET /metrics on HOST:PORT while the crawl runs."""

    def __init__(self, listen: str, snapshots: Snapshots) -> None:
        self.host, self.port = split_listen(listen)
        app = web.Application()
        app.router.add_get("/metrics", metrics_handler(registry_for(snapshots)))
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("metrics at http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
