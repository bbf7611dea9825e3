"""Live counters of a crawl's HTTP exchanges and records, as plain numbers: the service's job
status, `--status-file` and the Prometheus metrics (crawler.watch.metrics) all read them."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Fetch-latency histogram bounds, seconds (Prometheus `le` labels); the last bucket is +Inf.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int | None) -> str:
    """"2xx" for 200 and so on; "none" when there was no HTTP answer (a transport error)."""
    return f"{status // 100}xx" if status is not None and 100 <= status <= 599 else "none"


@dataclass
class Histogram:
    """Counts per bucket of LATENCY_BUCKETS (not cumulative) plus +Inf, and the sum."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass
class FetchCounts:
    """Every HTTP exchange the crawl made (robots.txt and retried attempts included)."""

    by_class: Counter[str] = field(default_factory=Counter)
    bytes: int = 0
    latency: Histogram = field(default_factory=Histogram)

    def count(self, status: int | None, size: int, seconds: float) -> None:
        self.by_class[status_class(status)] += 1
        self.bytes += size
        self.latency.observe(seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"by_class": dict(self.by_class), "bytes": self.bytes,
                "latency_counts": list(self.latency.counts), "latency_sum": self.latency.total}
