"""The crawl engine: fetch -> parse -> add links -> write record -> mark done, for every URL.

One dispatcher takes ready requests from the frontier and runs each as a task, at most
`concurrency` at once (the fetch workers). Every request a task takes yields exactly one record,
whatever happens; `frontier.done` runs in `finally`. The crawl ends when nothing is pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from yarl import URL

from crawler.fetch import Fetcher, FetchResult
from crawler.frontier import Frontier, Request
from crawler.parse import is_html
from crawler.parse_pool import ParseFailed, ParsePool
from crawler.records import Record
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.sinks.writer import RecordWriter
from crawler.urls import BadURL, canonical, fingerprint

log = logging.getLogger(__name__)


@dataclass
class CrawlStats:
    """Live counters; the progress line and the final summary read them."""

    started: float = field(default_factory=time.monotonic)
    pages: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    cancelled: int = 0

    def count(self, record: Record) -> None:
        self.pages += 1
        if record.error:
            self.errors += 1
        if record.status is not None:
            self.statuses[record.status] += 1

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        elapsed = self.elapsed()
        return self.pages / elapsed if elapsed > 0 else 0.0


class Crawler:
    """Wires the frontier, the fetcher, the parse pool and the record writer together."""

    def __init__(self, settings: Settings, scope: Scope, frontier: Frontier, fetcher: Fetcher,
                 parser: ParsePool, writer: RecordWriter, run_id: str) -> None:
        self.settings = settings
        self.scope = scope
        self.frontier = frontier
        self.fetcher = fetcher
        self.parser = parser
        self.writer = writer
        self.run_id = run_id
        self.stats = CrawlStats()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: BaseException | None = None
        self.stopping = False

    def __repr__(self) -> str:
        return f"<Crawler pages={self.stats.pages} tasks={len(self._tasks)} {self.frontier!r}>"

    def add_seeds(self, seeds: list[str]) -> int:
        """Queue the seeds (canonical URLs) at depth 0; returns how many were new."""
        return sum(self.frontier.add(url, fingerprint(url), 0) for url in seeds)

    def stop(self) -> None:
        """Take no new URLs; in-flight fetches get `shutdown_grace` seconds to finish."""
        self.stopping = True
        self.frontier.close()

    async def run(self) -> CrawlStats:
        """Crawl until nothing is pending (or stop()); re-raise a fatal sink failure."""
        slots = asyncio.Semaphore(self.settings.concurrency)
        while True:
            await slots.acquire()
            request = await self.frontier.get()
            if request is None:
                slots.release()
                break
            task = asyncio.create_task(self._process(request))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
            task.add_done_callback(lambda _: slots.release())
        await self._drain()
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    async def _drain(self) -> None:
        """Let in-flight tasks finish; after stop(), cancel what outlives the grace period."""
        if not self._tasks:
            return
        if not self.stopping:
            await asyncio.wait(set(self._tasks))
            return
        log.info("stopping: waiting up to %gs for %d in-flight fetches",
                 self.settings.shutdown_grace, len(self._tasks))
        _, late = await asyncio.wait(set(self._tasks), timeout=self.settings.shutdown_grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        self.stats.cancelled = len(late)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        if self._fatal is None:
            self._fatal = task.exception()
            log.error("stopping the crawl: %s", self._fatal)
            self.stop()

    async def _process(self, request: Request) -> None:
        try:
            record = await self._visit(request)
            await self.writer.put(record)
            self.stats.count(record)
        finally:
            self.frontier.done(request)

    async def _visit(self, request: Request) -> Record:
        """Fetch, parse and follow one URL; every outcome becomes a record, none raises."""
        record = Record(url=request.url, depth=request.depth, run_id=self.run_id,
                        referrer=request.referrer, final_url=request.url,
                        redirects=request.redirects)
        try:
            result = await self.fetcher.fetch(request.url)
            self._fill_from_fetch(record, result)
            if result.error is None:
                if result.location is not None and 300 <= (result.status or 0) < 400:
                    self._follow_redirect(record, request, result.location)
                elif is_html(result.content_type) and 200 <= (result.status or 0) < 300:
                    await self._parse_and_follow(record, request, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must cost one record, never the crawl
            log.exception("internal error on %s", request.url)
            record.error = f"internal error: {type(exc).__name__}: {exc}"
        if record.error:
            log.debug("%s: %s", request.url, record.error)
        return record

    @staticmethod
    def _fill_from_fetch(record: Record, result: FetchResult) -> None:
        record.status = result.status
        record.elapsed_ms = round(result.elapsed * 1000)
        record.error = result.error
        if result.error is None:
            record.content_type = result.content_type
            record.content_length = len(result.body)
            record.truncated = result.truncated

    def _follow_redirect(self, record: Record, request: Request, location: str) -> None:
        """Queue the redirect target as a new request: it is scoped, deduped and paced anew."""
        try:
            target = canonical(location, URL(request.url, encoded=True))
        except BadURL as exc:
            record.error = f"bad redirect: {exc}"
            return
        record.final_url = target
        record.links = [target] if self.settings.record_links else []
        record.links_found = 1
        if request.redirects >= self.settings.max_redirects:
            record.error = f"too many redirects (more than {self.settings.max_redirects})"
            return
        if request.depth == 0 and not self.scope.allows(target):
            self.scope = self.scope.widened([target])  # a seed that moved takes its scope along
            log.info("seed %s redirects to %s; that host is now in scope", request.url, target)
        if self.scope.allows(target):
            self.frontier.add(target, fingerprint(target), request.depth, request.url,
                              request.redirects + 1)

    async def _parse_and_follow(self, record: Record, request: Request,
                                result: FetchResult) -> None:
        try:
            parsed = await self.parser.parse(request.url, result.body, result.content_type,
                                             self.scope, self.settings.record_links)
        except ParseFailed as exc:
            record.error = str(exc)
            return
        record.title = parsed.title
        record.links = parsed.links
        record.links_found = parsed.links_found
        depth = request.depth + 1
        add = self.frontier.add
        for url, fp in parsed.follow:
            add(url, fp, depth, request.url)
