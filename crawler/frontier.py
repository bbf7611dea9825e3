"""The frontier: every URL decision after scope. Dedup, depth and page budget, per-host queues,
per-host politeness (concurrency slots, minimum delay between request starts) and fair scheduling.

Scheduling is pure (`add`, `next_ready`, `wake_in`, `done` take no locks and do no I/O); `get` is
the one async wrapper, meant for a single dispatcher. `add` never blocks, so a worker that yields
links can never deadlock the crawl. The crawl is over when `pending` (queued + in flight) is 0.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.urls import origin


@dataclass(slots=True)
class Request:
    """A URL the frontier hands out: where it came from and how deep it is."""

    url: str
    depth: int
    referrer: str | None = None
    redirects: int = 0  # redirect hops that led to this URL


@dataclass(slots=True)
class _Host:
    queue: deque[Request] = field(default_factory=deque)
    active: int = 0
    next_start: float = 0.0
    scheduled: bool = False  # has an entry in the ready heap


class Frontier:
    """Per-host queues served fairly: the host whose turn came first goes first."""

    def __init__(self, *, per_host: int, delay: float = 0.0, max_pages: int = 0,
                 max_depth: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_host = per_host
        self.delay = delay
        self.max_pages = max_pages
        self.max_depth = max_depth
        self._clock = clock
        self._seen: set[int] = set()
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[float, int, str]] = []  # (time the host may start, tiebreak, key)
        self._tiebreak = 0
        self.admitted = 0
        self.queued = 0
        self.in_flight = 0
        self.finished = 0
        self._closed = False
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Frontier {self.stats()}>"

    def stats(self) -> dict[str, Any]:
        return {"admitted": self.admitted, "queued": self.queued, "in_flight": self.in_flight,
                "finished": self.finished, "hosts": len(self._hosts), "closed": self._closed}

    @property
    def pending(self) -> int:
        """URLs queued or in flight: the crawl ends when this reaches 0."""
        return self.queued + self.in_flight

    def add(self, url: str, fp: int, depth: int, referrer: str | None = None,
            redirects: int = 0) -> bool:
        """Queue a canonical, in-scope URL unless seen, too deep or over budget. Never blocks."""
        if fp in self._seen or self._closed:
            return False
        if self.max_depth and depth > self.max_depth:
            return False
        if self.max_pages and self.admitted >= self.max_pages:
            return False
        self._seen.add(fp)
        self.admitted += 1
        key = origin(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        host.queue.append(Request(url, depth, referrer, redirects))
        self.queued += 1
        self._schedule(key, host)
        return True

    def seen(self, fp: int) -> bool:
        return fp in self._seen

    def _schedule(self, key: str, host: _Host) -> None:
        if not host.scheduled and host.queue and host.active < self.per_host:
            host.scheduled = True
            self._tiebreak += 1
            heapq.heappush(self._heap, (host.next_start, self._tiebreak, key))
            self._changed.set()

    def next_ready(self, now: float) -> Request | None:
        """The next request whose host may be hit at `now`, or None. Marks it in flight."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            key = heapq.heappop(heap)[2]
            host = self._hosts[key]
            host.scheduled = False
            if not host.queue or host.active >= self.per_host:
                continue
            request = host.queue.popleft()
            host.active += 1
            host.next_start = now + self.delay
            self.queued -= 1
            self.in_flight += 1
            self._schedule(key, host)
            return request
        return None

    def wake_in(self, now: float) -> float | None:
        """Seconds until some host may be hit again; None when no host is waiting on time."""
        return max(0.0, self._heap[0][0] - now) if self._heap else None

    def done(self, request: Request) -> None:
        """The request is finished (whatever happened): free its host slot."""
        key = origin(request.url)
        host = self._hosts[key]
        host.active -= 1
        self.in_flight -= 1
        self.finished += 1
        self._schedule(key, host)
        if self.pending == 0:
            self._changed.set()

    def close(self) -> None:
        """Hand out nothing more (shutdown); requests in flight may still finish."""
        self._closed = True
        self._changed.set()

    async def get(self) -> Request | None:
        """Wait for the next ready request; None once nothing is pending or after close()."""
        while not self._closed:
            now = self._clock()
            request = self.next_ready(now)
            if request is not None:
                return request
            if self.pending == 0:
                return None
            self._changed.clear()
            try:
                async with asyncio.timeout(self.wake_in(now)):
                    await self._changed.wait()
            except TimeoutError:
                pass
        return None
