"""Run one crawl: build the components from the settings, handle signals, run the event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.engine import Crawler, CrawlStats
from crawler.errors import UsageError
from crawler.fetch import Fetcher
from crawler.frontier import Frontier
from crawler.guard import AddressGuard, addresses_of
from crawler.limits import raise_open_files_limit
from crawler.parse import parse_page
from crawler.parse_pool import ParseFn, ParsePool
from crawler.progress import Progress
from crawler.robots import RobotsCache
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.sinks import Sink, open_sinks
from crawler.sinks.writer import RecordWriter
from crawler.spill import SpillQueue
from crawler.urls import host_of

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SPILL_NAME = "frontier-spill.db"


@dataclass
class CrawlOutcome:
    """How a crawl ended: its counters, its run id, where records went, which signal stopped it."""

    stats: CrawlStats
    run_id: str
    outputs: list[str] = field(default_factory=list)
    stopped_by: signal.Signals | None = None


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def open_job_dir(job_dir: Path, spill: bool) -> SpillQueue | None:
    """Create the job directory (and the frontier's spill file); a clear UsageError if not."""
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        return SpillQueue(job_dir / SPILL_NAME) if spill else None
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot use job directory {job_dir}: {reason}") from None


async def run_crawl(settings: Settings, seeds: list[str], *, handle_signals: bool = True,
                    parse_fn: ParseFn = parse_page) -> CrawlOutcome:
    """Crawl from `seeds` (canonical URLs) until nothing is pending or a signal stops it.
    `parse_fn` is the page parser the workers run (a picklable top-level function)."""
    run_id = new_run_id()
    raise_open_files_limit(settings.concurrency)
    spill = open_job_dir(Path(settings.job_dir), settings.frontier_memory > 0)
    frontier = Frontier(per_host=settings.per_host, delay=settings.delay,
                        memory_window=settings.frontier_memory, spill=spill,
                        start_delay=settings.autothrottle_start if settings.autothrottle else 0,
                        max_pages=settings.max_pages, max_depth=settings.max_depth,
                        max_pages_per_host=settings.max_pages_per_host,
                        max_query_variants=settings.max_query_variants,
                        hosts_known=not settings.robots)
    if not settings.robots:
        log.warning("--no-robots: robots.txt, <meta name=robots> and X-Robots-Tag are ignored")
    guard = AddressGuard.build(await addresses_of(host_of(url) for url in seeds),
                               settings.allow_networks, settings.deny_networks)
    log.debug("address guard: %s", guard)
    sinks = open_sinks(Path(settings.job_dir), settings.outputs)
    outcome = CrawlOutcome(CrawlStats(), run_id, [s.name for s in sinks])
    try:
        await _crawl(settings, seeds, frontier, guard, sinks, outcome, handle_signals, parse_fn)
    finally:
        if spill is not None:
            spill.close()
    return outcome


async def _crawl(settings: Settings, seeds: list[str], frontier: Frontier, guard: AddressGuard,
                 sinks: list[Sink], outcome: CrawlOutcome, handle_signals: bool,
                 parse_fn: ParseFn) -> None:
    scope = Scope.for_seeds(settings.scope, seeds, settings.allow, settings.deny)
    async with (
        ParsePool(settings.parse_mode, settings.parse_workers, timeout=settings.parse_timeout,
                  parse_fn=parse_fn, inline_max_bytes=settings.parse_inline_max_bytes) as parser,
        Fetcher(settings, guard) as fetcher,
        RecordWriter(sinks, settings.sink_batch_size, settings.sink_flush_seconds) as writer,
    ):
        robots = RobotsCache(
            fetcher, cache_seconds=settings.robots_cache_seconds,
            retry_seconds=settings.robots_retry_seconds, max_bytes=settings.robots_max_bytes,
        ) if settings.robots else None
        crawler = Crawler(settings, scope, frontier, fetcher, parser, writer, outcome.run_id,
                          robots)
        outcome.stats = crawler.stats
        crawler.add_seeds(seeds)
        progress = Progress(crawler, sys.stderr, settings.progress_seconds, not settings.quiet)
        loop = asyncio.get_running_loop()
        if handle_signals:
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, _on_signal, signum, crawler, outcome)
        progress.start()
        try:
            await crawler.run()
        finally:
            await progress.stop()
            if handle_signals:
                for signum in STOP_SIGNALS:
                    loop.remove_signal_handler(signum)


def _on_signal(signum: signal.Signals, crawler: Crawler, outcome: CrawlOutcome) -> None:
    if outcome.stopped_by is not None:
        sys.stderr.write(f"\ncrawler: second {signum.name}: exiting now\n")
        sys.stderr.flush()
        os._exit(128 + signum)
    outcome.stopped_by = signal.Signals(signum)
    log.warning("%s received: finishing in-flight fetches (up to %gs) and flushing outputs; "
                "send it again to quit at once", signum.name, crawler.settings.shutdown_grace)
    crawler.stop()


def run_event_loop(main: Coroutine[Any, Any, CrawlOutcome]) -> CrawlOutcome:
    """Run `main` on uvloop where it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform we ship
        return asyncio.run(main)
    return uvloop.run(main)
