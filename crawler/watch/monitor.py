"""What watches a running crawl from outside, as its settings ask: `--status-file` and
`--metrics-listen`. Both the one-process crawl and the cluster worker use it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from crawler.engine import Crawler
from crawler.settings import Settings
from crawler.watch.live import NOTHING_BEFORE, RunBase, StatusFile, live_snapshot


@contextlib.asynccontextmanager
async def monitored(crawler: Crawler, settings: Settings, label: str,
                    base: RunBase = NOTHING_BEFORE) -> AsyncIterator[None]:
    """Run the body with the status file and the metrics endpoint up (when set); `label` is
    the metrics' `job` label."""
    status = StatusFile(Path(settings.status_file), crawler, base) if (
        settings.status_file) else None
    metrics = None
    if settings.metrics_listen:  # imported only then: prometheus-client and aiohttp's server
        from crawler.watch.metrics import MetricsServer  # cost a crawl's start-up 70 ms

        metrics = MetricsServer(settings.metrics_listen, lambda: {
            label: live_snapshot(crawler, base)})
    if status is not None:
        status.start()
    try:
        if metrics is not None:
            await metrics.start()
        yield
    finally:
        if status is not None:
            await status.stop()
        if metrics is not None:
            await metrics.stop()
