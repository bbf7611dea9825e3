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
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aiohttp.abc import AbstractCookieJar

from crawler.engine import Crawler, CrawlStats
from crawler.errors import UsageError
from crawler.extract.setup import Extraction, extraction_for
from crawler.fetch.cookies import JarSaver, keep_saving, open_jar
from crawler.fetch.fetcher import Fetcher
from crawler.fetch.guard import AddressGuard, addresses_of
from crawler.fetch.login import deny_for, signed_in
from crawler.fetch.netrc_auth import netrc_credentials
from crawler.fetch.proxies import ProxyPool, check_proxies
from crawler.fetch.robots import RobotsCache
from crawler.frontier.local import Frontier
from crawler.frontier.scope import Scope
from crawler.frontier.spill import SpillQueue
from crawler.jobs.lock import JobLock
from crawler.jobs.report import build_report, count_run, write_report
from crawler.jobs.rerun import RerunPlan, rerun_plan
from crawler.jobs.state import DB_NAME, DONE, HELD, PRUNED, JobState, Run
from crawler.notify.webhook import Notifier
from crawler.parse.page import parse_page
from crawler.parse.pool import ParsePool
from crawler.parse.worker import ParseFn
from crawler.render.browser import chromium_binary
from crawler.settings import Settings
from crawler.sinks import Sink, open_sinks
from crawler.sinks.base import ArchiveSink
from crawler.sinks.owner import claim_outputs
from crawler.sinks.writer import RecordWriter
from crawler.urls import fp_from_sql, host_of
from crawler.util.limits import raise_open_files_limit
from crawler.watch.live import RunBase
from crawler.watch.monitor import monitored
from crawler.watch.progress import Progress

if TYPE_CHECKING:
    from crawler.extract.page import Extractor

log = logging.getLogger(__name__)
T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SPILL_NAME = "frontier-spill.db"


@dataclass
class CrawlOutcome:
    """How a crawl ended: its counters, its run, where records went, which signal stopped it,
    and the run report (for a finished job with nothing to do, its last run's report)."""

    stats: CrawlStats
    run: Run
    outputs: list[str] = field(default_factory=list)
    stopped_by: signal.Signals | None = None
    report: dict[str, Any] | None = None
    report_path: Path | None = None
    retried: int = 0  # URLs that failed last time (refused, timeout, 5xx) tried again
    webhooks: dict[str, int] | None = None  # changes by the state of their webhook batch

    @property
    def run_id(self) -> str:
        return self.run.run_id


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def make_job_dir(job_dir: Path) -> None:
    """Create the job directory; a clear UsageError if it cannot be."""
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use job directory {job_dir}: {exc.strerror or exc}") from None


def open_spill(job_dir: Path, spill: bool) -> SpillQueue | None:
    """The frontier's scratch file for queued URLs beyond its memory window (made anew)."""
    try:
        return SpillQueue(job_dir / SPILL_NAME) if spill else None
    except (OSError, sqlite3.Error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot use job directory {job_dir}: {reason}") from None


def build_frontier(settings: Settings, spill: SpillQueue | None) -> Frontier:
    return Frontier(per_host=settings.per_host, delay=settings.delay,
                    memory_window=settings.frontier_memory, spill=spill,
                    start_delay=settings.autothrottle_start if settings.autothrottle else 0,
                    max_pages=settings.max_pages, max_depth=settings.max_depth,
                    max_pages_per_host=settings.max_pages_per_host,
                    max_query_variants=settings.max_query_variants,
                    max_pattern_chain=settings.max_pattern_chain,
                    hosts_known=not settings.robots)


def restore(state: JobState, frontier: Frontier, readmit_held: bool = True) -> int:
    """Load a resumed (or recrawled) job into the frontier; returns how many URLs are pending.
    `readmit_held` False leaves the URLs held at --max-pages held (new seeds come first)."""
    for fp, url, url_state in state.known():
        if url_state == HELD:
            continue
        if url_state == PRUNED:
            frontier.prune(fp_from_sql(fp))
        elif url_state == DONE:
            frontier.remember(url, fp_from_sql(fp))
    pending = 0
    for request in state.pending():
        frontier.restore(request)
        pending += 1
    if readmit_held:
        for request in state.held():  # found past --max-pages: queued if the limit allows
            pending += frontier.readmit(request)
    return pending


async def run_crawl(settings: Settings, seeds: list[str], *, handle_signals: bool = True,
                    parse_fn: ParseFn = parse_page,
                    on_page: Extractor | None = None,
                    credentials: dict[str, tuple[str, str]] | None = None,
                    trust_seed_networks: bool = True) -> CrawlOutcome:
    """Run the job in `settings.job_dir` from `seeds` (canonical URLs): resume its unfinished
    run, start its first one, recrawl it when asked or due, or do nothing (an idle outcome).
    `parse_fn` is the page parser the workers run (a picklable top-level function);
    `on_page`, a user's extraction function (else --extractor's); `credentials`, the seeds'
    user and password by origin (crawler.frontier.seeds); `trust_seed_networks` False (seeds
    from the service's API) stops the networks the seeds are on from being allowed by that alone."""
    extraction = extraction_for(settings, on_page)  # bad rules stop us before the job starts
    if settings.render != "never":
        chromium_binary(settings.render_browser)  # so does a missing browser
    sinks = open_sinks(settings.outputs, settings.job_name, settings.pg_pool_size,
                       settings.outage_seconds, extraction.data_columns,
                       settings.warc_max_bytes, warc_info(settings, seeds),
                       settings.csv_escape_formulas, settings.fields)  # and a bad -o
    job_dir = Path(settings.job_dir)
    raise_open_files_limit(settings.concurrency)
    make_job_dir(job_dir)
    with JobLock(job_dir):  # before anything in the directory is touched
        spill = open_spill(job_dir, settings.frontier_memory > 0)
        state = JobState.open(job_dir)
        state.extraction = extraction.fingerprint if settings.render == "never" else (
            f"{extraction.fingerprint}+render-{settings.render}")  # a rendering reads other data
        try:
            return await _run_job(settings, seeds, state, spill, sinks, handle_signals,
                                  parse_fn, extraction, credentials or {}, trust_seed_networks)
        finally:
            state.close()
            if spill is not None:
                spill.close()


async def _run_job(settings: Settings, seeds: list[str], state: JobState,
                   spill: SpillQueue | None, sinks: list[Sink], handle_signals: bool,
                   parse_fn: ParseFn, extraction: Extraction,
                   credentials: dict[str, tuple[str, str]],
                   trust_seed_networks: bool) -> CrawlOutcome:
    claim_outputs(settings.outputs, state.job_id, Path(settings.job_dir), check_only=True)
    cookies = open_jar(settings, Path(settings.job_dir))  # a bad --cookies: before the run
    host_auth = netrc_credentials(settings)  # and a bad --netrc
    seed_addresses = await addresses_of(host_of(url) for url in seeds) if (
        trust_seed_networks) else []
    guard = AddressGuard.build(seed_addresses, settings.allow_networks, settings.deny_networks)
    log.debug("address guard: %s", guard)
    proxies = ProxyPool.from_settings(settings)
    if proxies is not None:  # and a proxy that cannot be used
        await check_proxies(proxies, guard)
    notifier = Notifier(settings, guard, Path(settings.job_dir) / DB_NAME, state.job_id)
    await notifier.check_address()  # and a webhook the guard refuses
    run = state.begin_run(new_run_id(), recrawl=settings.recrawl,
                          recrawl_after=settings.recrawl_after)
    outcome = CrawlOutcome(CrawlStats(), run, [str(state.path), *(s.name for s in sinks)])
    plan = RerunPlan()
    if run.kind == "idle":
        plan = rerun_plan(settings, seeds, state, run)
        if not plan.anything:
            outcome.report = state.runs()[-1]["report"]  # what the finished job holds
            async with notifier:  # changes a receiver has not taken yet: sent now
                pass
            return outcome
        outcome.run = run = state.reopen(run)
        if plan.retry:
            state.requeue(plan.retry)
            outcome.retried = len(plan.retry)
            log.info("job %s: trying again the %d URLs whose last answer was a failure that "
                     "can pass (refused connection, timeout, 429, 5xx)", settings.job_dir,
                     len(plan.retry))
    elif run.kind == "resume" and (stale := state.stale_extraction()):
        log.warning("job %s: %d pages of this run were extracted with other settings than "
                    "these (--extract, --content, --extractor, --render); --recrawl after this "
                    "run extracts them again", settings.job_dir, stale)
    # before any output is opened; a run that refuses or has nothing to do claims none
    claim_outputs(settings.outputs, state.job_id, Path(settings.job_dir))
    frontier = build_frontier(settings, spill)
    moved: list[str] = []  # seeds' redirect targets, in scope since the run began
    if run.kind != "new":
        pending = restore(state, frontier, readmit_held=not plan.new_seeds)
        moved = state.seed_redirect_targets()
        log.info("job %s: %s run %s with %d URLs pending", settings.job_dir, run.kind,
                 run.run_id, pending)
    if not settings.robots:
        log.warning("--no-robots: robots.txt, <meta name=robots> and X-Robots-Tag are ignored")
    result = "failed"
    try:
        async with notifier:  # batches the run's changes as they commit, sends them
            await _crawl(settings, seeds, moved, frontier, guard, sinks, state, outcome,
                         handle_signals, parse_fn, extraction, credentials, cookies,
                         (host_auth, proxies))
            if outcome.stopped_by is not None:
                notifier.hurry()  # stopping: what is not sent waits for the next run
        outcome.webhooks = notifier.counts
        result = "stopped" if outcome.stopped_by is not None or frontier.pending else "completed"
    finally:
        _report(settings, state, outcome, result)
    return outcome


def _report(settings: Settings, state: JobState, outcome: CrawlOutcome, result: str) -> None:
    """Record how the session ended and write report.json; a failure here is logged, so it
    never hides the error that ended the crawl."""
    try:
        report = build_report(state, outcome.run, result, session_records=outcome.stats.pages,
                              session_seconds=outcome.stats.elapsed(), outputs=outcome.outputs,
                              retried=outcome.retried, webhooks=outcome.webhooks)
        state.end_run(outcome.run_id, result, report)
        outcome.report = report
        outcome.report_path = write_report(Path(settings.job_dir), report)
    except (OSError, sqlite3.Error) as exc:
        log.error("could not write the run report in %s: %s", settings.job_dir, exc)


async def _crawl(settings: Settings, seeds: list[str], moved: list[str], frontier: Frontier,
                 guard: AddressGuard, sinks: list[Sink], state: JobState,
                 outcome: CrawlOutcome, handle_signals: bool, parse_fn: ParseFn,
                 extraction: Extraction, credentials: dict[str, tuple[str, str]],
                 cookies: tuple[AbstractCookieJar, JarSaver | None],
                 access: tuple[dict[str, str], ProxyPool | None]) -> None:
    jar, saver = cookies
    host_auth, proxies = access
    scope = Scope.for_seeds(settings.scope, seeds + moved, settings.allow,
                            deny_for(settings.deny, settings.login or settings.login_hook))
    async with (
        ParsePool(settings.parse_mode, settings.parse_workers, timeout=settings.parse_timeout,
                  parse_fn=parse_fn, inline_max_bytes=settings.parse_inline_max_bytes,
                  preload=extraction.preload, memory_mb=settings.parse_memory_mb) as parser,
        Fetcher(settings, guard, credentials, jar, host_auth, proxies) as fetcher,
        RecordWriter(sinks, settings.sink_batch_size, settings.sink_flush_seconds,
                     state) as writer,
    ):
        frontier.on_queue = writer.queued
        frontier.on_hold = writer.held
        fetcher.keep_headers = extraction.function is not None or settings.record_headers
        fetcher.keep_exchanges = any(isinstance(sink, ArchiveSink) for sink in sinks)
        robots = RobotsCache(
            fetcher, cache_seconds=settings.robots_cache_seconds,
            retry_seconds=settings.robots_retry_seconds, max_bytes=settings.robots_max_bytes,
        ) if settings.robots else None
        crawler = Crawler(settings, scope, frontier, fetcher, parser, writer, outcome.run_id,
                          robots, extraction)
        outcome.stats = crawler.stats
        crawler.signer = await signed_in(settings, fetcher)  # --login, before the first page
        await crawler.add_seeds(seeds)
        if settings.sitemaps:
            await crawler.add_sitemaps(seeds)
        progress = Progress(crawler, sys.stderr, settings.progress_seconds, not settings.quiet)
        loop = asyncio.get_running_loop()
        if handle_signals:
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, _on_signal, signum, crawler, outcome)
        progress.start()
        base = RunBase(*_recorded_so_far(state, outcome.run_id))
        saving = asyncio.create_task(keep_saving(saver)) if saver is not None else None
        try:
            async with monitored(crawler, settings, settings.job_name, base):
                await crawler.run()
        finally:
            await progress.stop()
            if saving is not None:
                saving.cancel()
                await asyncio.gather(saving, return_exceptions=True)
            if saver is not None:
                saver.save()
            if handle_signals:
                for signum in STOP_SIGNALS:
                    loop.remove_signal_handler(signum)


def warc_info(settings: Settings, seeds: list[str]) -> dict[str, str]:
    """What a WARC file's warcinfo record says about the crawl that wrote it."""
    return {"http-header-user-agent": settings.user_agent, "robots": "obey" if (
        settings.robots) else "ignore", "scope": settings.scope,
        "max-body-bytes": str(settings.max_body_bytes), "job": settings.job_name,
        "seeds": " ".join(seeds[:20]) + (f" (and {len(seeds) - 20} more)" if len(seeds) > 20
                                         else "")}


def _recorded_so_far(state: JobState, run_id: str) -> tuple[int, int]:
    """The records and errors of the run before this session (a resumed run)."""
    counts = count_run(state, run_id)
    return counts.records, sum(counts.errors.values())


def exit_on_second_signal(signum: signal.Signals, stopped_by: signal.Signals | None,
                          note: str = "") -> None:
    """A second Ctrl-C/SIGTERM ends the process at once (the first one drains)."""
    if stopped_by is not None:
        sys.stderr.write(f"\ncrawler: second {signum.name}: exiting now{note}\n")
        sys.stderr.flush()
        os._exit(128 + signum)


def _on_signal(signum: signal.Signals, crawler: Crawler, outcome: CrawlOutcome) -> None:
    exit_on_second_signal(signum, outcome.stopped_by)
    outcome.stopped_by = signal.Signals(signum)
    log.warning("%s received: finishing in-flight fetches (up to %gs) and flushing outputs; "
                "send it again to quit at once", signum.name, crawler.settings.shutdown_grace)
    crawler.stop()


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop where it is installed, else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform we ship
        return asyncio.run(main)
    return cast(T, uvloop.run(main))
