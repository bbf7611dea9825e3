"""`python -m crawler worker`: join a job whose frontier is in Redis and crawl until the whole job
has nothing queued or leased. `python -m crawler seed SEEDS`: create the job and queue seeds.

A worker's records go to its -o outputs, which must be idempotent (PostgreSQL, SQLite), since
a URL whose worker died after storing its record and before the ack is fetched and stored again.
SIGTERM/Ctrl-C drains: in-flight fetches get --shutdown-grace seconds, every record is stored
and acknowledged, and the leases that got no record go back to the queue at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from crawler.app import exit_on_second_signal, warc_info
from crawler.cluster.job import ClusterJob, create_job, load_job
from crawler.cluster.redis_frontier import FrontierUnavailable, RedisFrontier, RedisLink
from crawler.engine import Crawler, CrawlStats
from crawler.errors import UsageError
from crawler.extract.setup import Extraction, extraction_for
from crawler.fetch.cookies import open_jar
from crawler.fetch.fetcher import Fetcher
from crawler.fetch.guard import AddressGuard, addresses_of
from crawler.fetch.login import deny_for, signed_in
from crawler.fetch.netrc_auth import netrc_credentials
from crawler.fetch.proxies import ProxyPool, check_proxies
from crawler.fetch.robots import RobotsCache
from crawler.frontier.scope import Scope
from crawler.parse.page import parse_page
from crawler.parse.pool import ParseFn, ParsePool
from crawler.settings import Settings
from crawler.sinks import open_sinks
from crawler.sinks.base import ArchiveSink
from crawler.sinks.writer import RecordWriter
from crawler.urls import fingerprint, host_of
from crawler.watch.monitor import monitored
from crawler.watch.progress import Progress

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
JOB_WAIT_LOG_SECONDS = 30.0
CLUSTER_SCHEME = "redis-cluster://"


@dataclass
class WorkerOutcome:
    stats: CrawlStats = field(default_factory=CrawlStats)
    job: ClusterJob | None = None
    stopped_by: signal.Signals | None = None


def redis_client(settings: Settings) -> aioredis.Redis:
    """A client for --frontier: redis://HOST:PORT/DB, or redis-cluster://HOST:PORT (any node of
    a Redis Cluster; the client follows each job's slot to its owner)."""
    if not settings.frontier:
        raise UsageError("this command needs --frontier redis://HOST:PORT/DB (or "
                         "CRAWLER_FRONTIER)")
    options = {"socket_connect_timeout": 5, "socket_timeout": 30}
    try:
        if settings.frontier.startswith(CLUSTER_SCHEME):
            url = "redis://" + settings.frontier.removeprefix(CLUSTER_SCHEME)
            return RedisCluster.from_url(url, **options)  # type: ignore[return-value]
        return aioredis.from_url(settings.frontier, health_check_interval=10, **options)
    except ValueError as exc:
        raise UsageError(f"invalid setting frontier={settings.frontier!r}: {exc}") from None


def frontier_for(client: aioredis.Redis, job: ClusterJob, settings: Settings) -> RedisFrontier:
    return RedisFrontier(client, job, concurrency=settings.concurrency,
                         lease_seconds=settings.lease_seconds,
                         outage_seconds=settings.outage_seconds,
                         max_pattern_chain=settings.max_pattern_chain)


async def seed_job(settings: Settings, seeds: list[str]) -> tuple[ClusterJob, bool, int]:
    """Create the job (its rules from `settings`) unless it exists, and queue `seeds` (canonical
    URLs) at depth 0. Returns the job, whether it was created, and how many seeds were new."""
    client = redis_client(settings)
    try:
        wanted = ClusterJob.from_settings(settings.job_name, settings, seeds)
        frontier = frontier_for(client, wanted, settings)
        job, created = await frontier.link.call(lambda: create_job(client, wanted))
        frontier.job = job  # a job of that name may exist already, with its own rules
        if not created:
            log.info("job %s exists (run %s): queueing the seeds under its rules", job.name,
                     job.run_id)
            scope = Scope.for_seeds(job.scope, list(job.seeds), job.allow, job.deny)
            for url in seeds:  # new seeds' hosts are in scope for every worker
                if not scope.allows(url):
                    await frontier.share_scope(url)
        for start in range(0, len(seeds), 1000):
            chunk = seeds[start:start + 1000]
            await frontier.add_links([(u, fingerprint(u)) for u in chunk], 0, None)
        return job, created, frontier.added
    finally:
        await client.aclose()


async def wait_for_job(client: aioredis.Redis, link: RedisLink, name: str) -> ClusterJob:
    """The job, once `seed` has created it (a worker may start first)."""
    waited = 0.0
    while True:
        job = await link.call(lambda: load_job(client, name))
        if job is not None:
            return job
        if waited % JOB_WAIT_LOG_SECONDS == 0:
            log.info("waiting for job %r to be seeded (python -m crawler seed SEEDS ...)", name)
        await asyncio.sleep(1.0)
        waited += 1.0


def check_worker_outputs(settings: Settings) -> None:
    if settings.webhook:
        raise UsageError("--webhook sends the changes a job directory's recrawls find; a "
                         "cluster's workers keep no change history (crawl without --frontier)")
    if not settings.outputs:
        raise UsageError("a worker needs an output for its records: -o postgresql://... "
                         "(or -o results.db)")
    for target in settings.outputs:
        if target.lower().endswith((".jsonl", ".csv")):
            raise UsageError(f"output {target!r}: a worker's outputs must be idempotent "
                             "(postgresql://..., .db): an append-only file (JSON Lines, CSV) "
                             "could get a record twice after a worker dies")


async def run_worker(settings: Settings, *, handle_signals: bool = True,
                     parse_fn: ParseFn = parse_page) -> WorkerOutcome:
    """Crawl the job named by settings.job_name until it is finished or a signal stops us."""
    check_worker_outputs(settings)
    extraction = extraction_for(settings)
    outcome = WorkerOutcome()
    client = redis_client(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, _on_signal, signum, outcome, stop, None)
    try:
        link = RedisLink(settings.outage_seconds, settings.job_name)
        waiter = asyncio.ensure_future(wait_for_job(client, link, settings.job_name))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait((waiter, stopper), return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not waiter.done():
            waiter.cancel()
            return outcome
        job = outcome.job = waiter.result()
        # the job's rules, not this worker's, wherever the engine reads them
        settings = settings.replace(per_host=job.per_host, delay=job.delay,
                                    robots=not job.hosts_known, max_pages=job.max_pages,
                                    max_depth=job.max_depth,
                                    max_pages_per_host=job.max_pages_per_host,
                                    max_query_variants=job.max_query_variants,
                                    scope=job.scope, allow=job.allow, deny=job.deny)
        frontier = frontier_for(client, job, settings)
        await _crawl(settings, job, frontier, outcome, handle_signals, parse_fn, extraction)
    finally:
        if handle_signals:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        await client.aclose()
    return outcome


async def _crawl(settings: Settings, job: ClusterJob, frontier: RedisFrontier,
                 outcome: WorkerOutcome, handle_signals: bool, parse_fn: ParseFn,
                 extraction: Extraction) -> None:
    scope = Scope.for_seeds(job.scope, list(job.seeds), job.allow,
                            deny_for(job.deny, settings.login or settings.login_hook))
    guard = AddressGuard.build(await addresses_of(host_of(url) for url in job.seeds),
                               settings.allow_networks, settings.deny_networks)
    proxies = ProxyPool.from_settings(settings)
    if proxies is not None:
        await check_proxies(proxies, guard)
    sinks = open_sinks(settings.outputs, job.name, settings.pg_pool_size,
                       settings.outage_seconds, extraction.data_columns,
                       settings.warc_max_bytes, warc_info(settings, list(job.seeds)),
                       settings.csv_escape_formulas, settings.fields)
    log.info("worker joining job %s (run %s) at %s", job.name, job.run_id, settings.frontier)
    try:
        async with (
            ParsePool(settings.parse_mode, settings.parse_workers,
                      timeout=settings.parse_timeout, parse_fn=parse_fn,
                      inline_max_bytes=settings.parse_inline_max_bytes,
                      preload=extraction.preload, memory_mb=settings.parse_memory_mb) as parser,
            Fetcher(settings, guard, jar=open_jar(settings, None)[0],
                    host_auth=netrc_credentials(settings), proxies=proxies) as fetcher,
            RecordWriter(sinks, settings.sink_batch_size, settings.sink_flush_seconds,
                         on_stored=frontier.ack) as writer,
        ):
            robots = RobotsCache(
                fetcher, cache_seconds=settings.robots_cache_seconds,
                retry_seconds=settings.robots_retry_seconds,
                max_bytes=settings.robots_max_bytes) if settings.robots else None
            fetcher.keep_headers = extraction.function is not None or settings.record_headers
            fetcher.keep_exchanges = any(isinstance(sink, ArchiveSink) for sink in sinks)
            crawler = Crawler(settings, scope, frontier, fetcher, parser, writer, job.run_id,
                              robots, extraction)
            outcome.stats = crawler.stats
            crawler.signer = await signed_in(settings, fetcher)  # each worker signs in itself
            frontier.on_scope = crawler.widen_scope
            frontier.start()
            if handle_signals:
                loop = asyncio.get_running_loop()
                for signum in STOP_SIGNALS:
                    loop.add_signal_handler(signum, _on_signal, signum, outcome, None, crawler)
            progress = Progress(crawler, sys.stderr, settings.progress_seconds,
                                not settings.quiet)
            progress.start()
            try:
                async with monitored(crawler, settings, job.name):
                    await crawler.run()
            finally:
                await progress.stop()
                log.info("worker: %s", frontier.stats())
    finally:
        try:
            await frontier.shutdown()
        except FrontierUnavailable as exc:
            log.error("could not give back this worker's leases (they expire in %gs): %s",
                      settings.lease_seconds, exc)


def _on_signal(signum: signal.Signals, outcome: WorkerOutcome, stop: asyncio.Event | None,
               crawler: Crawler | None) -> None:
    exit_on_second_signal(signum, outcome.stopped_by, " (its leases expire)")
    outcome.stopped_by = signal.Signals(signum)
    log.warning("%s received: draining (in-flight fetches get their grace period, records are "
                "stored, unfinished URLs go back to the queue)", signum.name)
    if stop is not None:
        stop.set()
    if crawler is not None:
        crawler.stop()
