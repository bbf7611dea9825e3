"""The frontier: every URL decision after scope. Dedup, depth and page budget, per-host queues,
per-host politeness (concurrency slots, minimum delay between request starts, pauses) and fair
scheduling.

Scheduling is pure (`add`, `next_ready`, `wake_in`, `done`, `requeue` take no locks and do no
I/O); `get` is the one async wrapper, meant for a single dispatcher. `add` never blocks, so a
worker that yields links can never deadlock the crawl. The crawl is over when `pending` (queued +
in flight) is 0.

A host whose rules are not known yet (its robots.txt not read) gets one slot, so its Crawl-delay
holds from the second request on; `set_host_rules` gives it its real slots and delay.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.frontier.request import Request
from crawler.frontier.seen import SeenSet
from crawler.frontier.spill import SpillQueue
from crawler.frontier.traps import TRAP, PatternChain, chain_trap
from crawler.urls import fingerprint, host_of

MAX_HELD = 100_000  # URLs held past --max-pages for a later, larger start; the rest are let go
__all__ = ["Frontier", "Request"]


@dataclass(slots=True)
class _Host:
    queue: deque[Request] = field(default_factory=deque)
    active: int = 0
    next_start: float = 0.0
    last_start: float = float("-inf")
    floor_delay: float = 0.0  # the user's delay or the host's Crawl-delay, whichever is larger
    delay: float = 0.0  # floor_delay, or more when autothrottle says so
    known: bool = False  # its rules (robots.txt) are known: all its slots may be used
    admitted: int = 0  # URLs ever queued for it (the per-host budget)
    heap_token: int = 0  # the tiebreak of its live heap entry; 0 = none


class Frontier:
    """Per-host queues served fairly: the host whose turn came first goes first."""

    def __init__(self, *, per_host: int, delay: float = 0.0, start_delay: float = 0.0,
                 max_pages: int = 0, max_depth: int = 0, max_pages_per_host: int = 0,
                 max_query_variants: int = 0, max_pattern_chain: int = 0,
                 hosts_known: bool = True,
                 memory_window: int = 0, spill: SpillQueue | None = None,
                 on_queue: Callable[[Request], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_host = per_host
        self.delay = delay
        self.start_delay = max(delay, start_delay)  # a new host's delay (autothrottle's start)
        self.max_pages = max_pages
        self.max_depth = max_depth
        self.max_pages_per_host = max_pages_per_host
        self.max_query_variants = max_query_variants
        self.max_pattern_chain = max_pattern_chain
        self.hosts_known = hosts_known
        self._query_variants: dict[int, int] = {}  # fingerprint of the path -> queries admitted
        self._clock = clock
        self._seen = SeenSet()
        self.memory_window = memory_window  # queued requests kept in memory; 0 = all
        self._spill = spill
        self.on_queue = on_queue  # told of every URL queued by add() (the job's journal)
        self.on_hold: Callable[[Request], None] | None = None  # told of URLs past max_pages
        self.in_memory = 0
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[float, int, str]] = []  # (time the host may start, token, key)
        self._tokens = 0
        self.admitted = 0
        self.held = 0  # URLs held past --max-pages this session (at most MAX_HELD)
        self.queued = 0
        self.in_flight = 0
        self.finished = 0
        self._closed = False
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Frontier {self.stats()}>"

    def stats(self) -> dict[str, Any]:
        return {"admitted": self.admitted, "queued": self.queued, "in_flight": self.in_flight,
                "finished": self.finished, "hosts": len(self._hosts), "closed": self._closed,
                "in_memory": self.in_memory, "spilled": len(self._spill) if self._spill else 0,
                "seen": len(self._seen)}

    @property
    def pending(self) -> int:
        """URLs queued or in flight: the crawl ends when this reaches 0."""
        return self.queued + self.in_flight

    @property
    def full(self) -> bool:
        return bool(self.max_pages) and self.admitted >= self.max_pages

    def add(self, url: str, fp: int, depth: int, referrer: str | None = None,
            redirects: int = 0, chain_from: PatternChain | None = None,
            spec: str | None = None) -> bool | str:
        """Queue a canonical, in-scope URL. Never blocks.

        True: queued. False: seen before or over --max-pages. A string: pruned by a trap limit
        (depth, per-host budget, query variants), saying which; the URL counts as seen, so it
        is reported once. A closed frontier still queues (see FrontierAPI.close).
        """
        if fp in self._seen:
            return False
        if self.max_pages and self.admitted >= self.max_pages:
            if self.on_hold is not None and self.held < MAX_HELD:  # kept in the job, for a
                self._seen.add(fp)                                 # start with a higher limit
                self.held += 1
                chain = chain_from.chain_of(url) if chain_from is not None else 0
                self.on_hold(Request(url, depth, referrer, redirects, fp, chain=chain,
                                     spec=spec))
            return False
        key = host_of(url)
        host = self._host(key)
        chain = chain_from.chain_of(url) if chain_from is not None else 0
        pruned = self._trap(url, depth, host) or chain_trap(chain, self.max_pattern_chain)
        self._seen.add(fp)
        if pruned is not None:
            return pruned
        request = Request(url, depth, referrer, redirects, fp, chain=chain, spec=spec)
        self._admit(key, host, request)
        if self.on_queue is not None:
            self.on_queue(request)
        return True

    async def add_links(self, links: Iterable[tuple[str, int]], depth: int,
                        referrer: str | None, redirects: int = 0,
                        pruned: Iterable[tuple[str, int, str]] = (),
                        chain_from: PatternChain | None = None,
                        specs: Mapping[int, str] | None = None
                        ) -> list[tuple[str, int, str]]:
        """`add` each link and mark `pruned` (a parse worker's trap verdicts) seen; returns the
        URLs to record as pruned, (url, fingerprint, reason), each once. `chain_from`: the
        page the links are on, for the pattern-chain trap."""
        out = []
        add = self.add
        unseen = self._seen.unseen(links)
        if chain_from is not None and unseen:
            chain_from = chain_from.weighed(url for url, _ in unseen)
        for url, fp in unseen:
            added = add(url, fp, depth, referrer, redirects, chain_from,
                        specs.get(fp) if specs else None)
            if isinstance(added, str):
                out.append((url, fp, added))
        for url, fp, reason in pruned:
            if self._seen.add(fp):
                out.append((url, fp, reason))
        return out

    async def share_scope(self, url: str) -> None:
        """A seed redirected to `url`: the job state keeps it (see JobState), nothing to do."""

    def _admit(self, key: str, host: _Host, request: Request) -> None:
        self.admitted += 1
        host.admitted += 1
        self.queued += 1
        if self._spill is not None and (len(self._spill) or
                                        self.in_memory >= self.memory_window):
            self._spill.push(request)  # FIFO: once anything waits on disk, newcomers do too
            return
        self._enqueue(key, host, request)

    def restore(self, request: Request) -> None:
        """Queue a request a resumed job left pending (it is already in the job's state)."""
        if self._seen.add(request.fp):
            key = host_of(request.url)
            self._count_query(request.url)
            self._admit(key, self._host(key), request)

    def readmit(self, request: Request) -> bool:
        """Queue a URL a finished job held back at --max-pages, if the budget now allows."""
        if self._seen.add(request.fp) and not (self.max_pages and
                                               self.admitted >= self.max_pages):
            key = host_of(request.url)
            self._count_query(request.url)
            self._admit(key, self._host(key), request)
            return True
        return False

    def remember(self, url: str, fp: int) -> None:
        """Count a URL a resumed job already finished: seen, and within the page budgets."""
        if self._seen.add(fp):
            self.admitted += 1
            self._host(host_of(url)).admitted += 1
            self._count_query(url)

    def _enqueue(self, key: str, host: _Host, request: Request) -> None:
        host.queue.append(request)
        self.in_memory += 1
        self._schedule(key, host)

    def _refill(self) -> None:
        """Bring the oldest spilled requests back once memory holds at most half the
        window."""
        assert self._spill is not None
        for request in self._spill.pop(self.memory_window - self.in_memory):
            key = host_of(request.url)
            self._enqueue(key, self._host(key), request)

    def _trap(self, url: str, depth: int, host: _Host) -> str | None:
        if self.max_depth and depth > self.max_depth:
            return f"{TRAP}deeper than --max-depth {self.max_depth}"
        if self.max_pages_per_host and host.admitted >= self.max_pages_per_host:
            return f"{TRAP}host already has --max-pages-per-host {self.max_pages_per_host} URLs"
        if self.max_query_variants and "?" in url:
            path = fingerprint(url.split("?", 1)[0])
            variants = self._query_variants.get(path, 0)
            if variants >= self.max_query_variants:
                return (f"{TRAP}path already has --max-query-variants "
                        f"{self.max_query_variants} queries")
            self._query_variants[path] = variants + 1
        return None

    def _count_query(self, url: str) -> None:
        """A resumed job's URL with a query counts towards its path's variant budget."""
        if self.max_query_variants and "?" in url:
            path = fingerprint(url.split("?", 1)[0])
            self._query_variants[path] = self._query_variants.get(path, 0) + 1

    def prune(self, fp: int) -> bool:
        """Mark a URL pruned elsewhere (a parse worker's trap check) as seen; True if new."""
        return self._seen.add(fp)

    def _host(self, key: str) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(floor_delay=self.delay, delay=self.start_delay,
                                            known=self.hosts_known)
        return host

    def _slots(self, host: _Host) -> int:
        return self.per_host if host.known else 1

    def _schedule(self, key: str, host: _Host, *, again: bool = False) -> None:
        """Give the host a heap entry at its next start time if it can take a request;
        `again` replaces an existing entry (its time changed)."""
        if host.heap_token and not again:
            return
        host.heap_token = 0
        if host.queue and host.active < self._slots(host):
            self._tokens += 1
            host.heap_token = self._tokens
            heapq.heappush(self._heap, (host.next_start, self._tokens, key))
            self._changed.set()

    def next_ready(self, now: float) -> Request | None:
        """The next request whose host may be hit at `now`, or None. Marks it in flight."""
        if self._spill is not None and self.in_memory <= self.memory_window // 2 and \
                len(self._spill):
            self._refill()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, token, key = heapq.heappop(heap)
            host = self._hosts[key]
            if token != host.heap_token:
                continue  # replaced by a later entry
            host.heap_token = 0
            if not host.queue or host.active >= self._slots(host):
                continue
            request = host.queue.popleft()
            self.in_memory -= 1
            host.active += 1
            host.last_start = now
            host.next_start = now + host.delay
            self.queued -= 1
            self.in_flight += 1
            self._schedule(key, host)
            return request
        return None

    def wake_in(self, now: float) -> float | None:
        """Seconds until some host may be hit again; None when no host is waiting on time."""
        heap = self._heap
        while heap and heap[0][1] != self._hosts[heap[0][2]].heap_token:
            heapq.heappop(heap)  # drop replaced entries so they do not wake us for nothing
        return max(0.0, heap[0][0] - now) if heap else None

    def done(self, request: Request) -> None:
        """The request is finished (whatever happened): free its host slot."""
        key = host_of(request.url)
        host = self._hosts[key]
        host.active -= 1
        self.in_flight -= 1
        self.finished += 1
        self._schedule(key, host)
        if self.pending == 0:
            self._changed.set()

    def requeue(self, request: Request, not_before: float) -> None:
        """Put an in-flight request back at the head of its host's queue and keep the whole host
        idle until `not_before` (a retry, a Retry-After, a robots.txt to ask for again). It stays
        pending, so the crawl does not end while it waits."""
        host = self._hosts[host_of(request.url)]
        host.active -= 1
        self.in_flight -= 1
        host.queue.appendleft(request)
        self.queued += 1
        self.in_memory += 1
        self.pause_host(request.url, not_before)

    def pause_host(self, url: str, until: float) -> None:
        """Send the host no request before `until` (a Retry-After, a backoff)."""
        key = host_of(url)
        host = self._host(key)
        if until > host.next_start:
            host.next_start = until
            self._schedule(key, host, again=True)

    def set_host_rules(self, url: str, crawl_delay: float | None) -> None:
        """The host's robots.txt is read: use all its slots, and its Crawl-delay if larger."""
        key = host_of(url)
        host = self._host(key)
        floor = max(self.delay, crawl_delay or 0.0)
        if host.known and host.floor_delay == floor:
            return
        host.known = True
        host.floor_delay = floor
        host.delay = max(host.delay, floor)
        host.next_start = max(host.next_start, host.last_start + host.delay)
        self._schedule(key, host, again=True)

    def set_host_delay(self, url: str, delay: float) -> None:
        """An adaptive delay for the host (autothrottle); never below its floor."""
        host = self._hosts.get(host_of(url))
        if host is not None:
            host.delay = max(host.floor_delay, delay)

    def host_delay(self, url: str) -> float:
        host = self._hosts.get(host_of(url))
        return host.delay if host is not None else self.delay

    def close(self) -> None:
        """Hand out nothing more (shutdown); requests in flight may still finish, and their
        links are still queued and journaled for the next run."""
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
