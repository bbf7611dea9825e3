"""Scale-out end to end: `seed`, then several `worker` processes crawl a three-host local site
through a real redis-server into a real PostgreSQL. One worker is SIGKILLed mid-crawl; Redis
restarts mid-crawl; PostgreSQL goes away mid-crawl; a worker drains on SIGTERM. Every time,
every page ends up in PostgreSQL exactly once, and no host ever served more requests at once
than --per-host allows, counted across all workers by the site itself."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from crawler.cluster.job import job_prefix
from tests.real_servers import RedisServer, free_port, start_postgres
from tests.search_site import search_routes
from tests.site import Site, tree_sites
from tests.test_cli import clean_env

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
PAGES = 300  # per host
PER_HOST = 2
JOB = "cluster-test"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
async def no_worker_outlives_its_test() -> AsyncIterator[None]:
    """A test that fails half-way kills the workers it left running."""
    yield
    while Workers.running:
        proc = Workers.running.pop()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def sites() -> AsyncIterator[list[Site]]:
    async with tree_sites(HOSTS, PAGES, 0.03) as hosts:
        yield hosts


class Workers:
    """Seeds the job and runs worker processes, each logging to its own file."""

    running: ClassVar[list[asyncio.subprocess.Process]] = []  # every process any test started

    def __init__(self, tmp_path: Path, redis_url: str, dsn: str) -> None:
        self.tmp_path, self.redis_url, self.dsn = tmp_path, redis_url, dsn
        self.procs: list[asyncio.subprocess.Process] = []

    async def run(self, *args: str) -> asyncio.subprocess.Process:
        with (self.tmp_path / f"worker-{len(self.procs)}.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(  # tests.extractors importable
                sys.executable, "-m", "crawler", *args, cwd=self.tmp_path,
                env={**clean_env(), "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log)
        self.procs.append(proc)
        Workers.running.append(proc)
        return proc

    async def seed(self, sites: list[Site], path: str = "/p0") -> None:
        (self.tmp_path / "seeds.txt").write_text("".join(s.url(path) + "\n" for s in sites))
        proc = await self.run("seed", "seeds.txt", "--frontier", self.redis_url, "--job-name",
                              JOB, "--per-host", str(PER_HOST), "--quiet")
        assert await asyncio.wait_for(proc.wait(), 30) == 0, self.log(len(self.procs) - 1)

    async def worker(self, *extra: str) -> asyncio.subprocess.Process:
        return await self.run(
            "worker", "--frontier", self.redis_url, "--job-name", JOB, "-o", self.dsn,
            "--concurrency", "6", "--lease-seconds", "2", "--sink-batch-size", "20",
            "--sink-flush-seconds", "0.05", "--parse-mode", "inline", "--quiet", *extra)

    def log(self, index: int) -> str:
        return (self.tmp_path / f"worker-{index}.log").read_text()

    async def wait_all(self, procs: list[asyncio.subprocess.Process], seconds: float = 120
                       ) -> list[int]:
        return list(await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), seconds))


async def stored(dsn: str) -> int:
    db = await asyncpg.connect(dsn)
    try:
        return await db.fetchval("SELECT count(*) FROM pages")
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await db.close()


async def until_stored(dsn: str, count: int, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.05)):
        if await stored(dsn) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} records stored in {seconds}s")


async def assert_every_page_once(dsn: str, sites: list[Site], redis_url: str) -> None:
    """Every page of every host is in PostgreSQL exactly once, fetched with 200, in one run;
    and, counted at the servers (the upsert key would hide a double fetch), no page was fetched
    twice unless its lease was reclaimed from a worker that died holding it."""
    reclaimed = (await job_stats(redis_url)).get("reclaimed", 0)
    fetched_twice = sum(n - 1 for site in sites for n in site.page_hits().values() if n > 1)
    assert fetched_twice <= reclaimed, (fetched_twice, reclaimed)
    db = await asyncpg.connect(dsn)
    try:
        rows = await db.fetch("SELECT url, status, run_id, job FROM pages")
    finally:
        await db.close()
    urls = [r["url"] for r in rows]
    expected = {s.url(f"/p{n}") for s in sites for n in range(PAGES)}
    assert len(urls) == len(set(urls)) and set(urls) == expected
    assert {r["status"] for r in rows} == {200}
    assert {(r["job"]) for r in rows} == {JOB} and len({r["run_id"] for r in rows}) == 1


def assert_per_host_limit_held(sites: list[Site]) -> None:
    """No host saw more than --per-host requests at once, across every worker; and the crawl
    pushed against that limit (it was reached), so the check means something."""
    peaks = [site.max_active for site in sites]
    assert max(peaks) == PER_HOST, peaks


async def job_stats(redis_url: str) -> dict[str, int]:
    client = aioredis.from_url(redis_url)
    try:
        prefix = job_prefix(JOB)
        stats = {k.decode(): int(v)
                 for k, v in (await client.hgetall(prefix + ":stats")).items()}
        stats["leases"] = await client.hlen(prefix + ":lease")
        return stats
    finally:
        await client.aclose()


async def test_three_workers_one_sigkilled_store_every_page_once(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Three workers crawl 900 pages on three hosts; one is SIGKILLed mid-crawl. Its leases
    expire and the others take its URLs: every page is stored exactly once, the job's counters
    say 900 done and nothing pending, and no host exceeded 2 requests at once."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    doomed = await workers.worker()  # alone at first, so it holds leases when it dies
    await until_stored(pg_dsn, 60)
    procs = [await workers.worker() for _ in range(2)]
    await until_stored(pg_dsn, 150)
    doomed.kill()
    assert await doomed.wait() == -signal.SIGKILL
    assert await stored(pg_dsn) < 3 * PAGES, "the kill must fall inside the crawl"
    codes = await workers.wait_all(procs)
    assert codes == [0, 0], workers.log(2) + workers.log(3)
    await assert_every_page_once(pg_dsn, sites, redis_server.url)
    assert_per_host_limit_held(sites)
    stats = await job_stats(redis_server.url)
    assert stats["done"] == 3 * PAGES and stats["queued"] == 0 and stats["leases"] == 0
    assert stats["reclaimed"] >= 1, "the killed worker held leases that came back"


async def test_a_functions_posts_and_headers_go_through_the_cluster(
        site: Site, redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Follow(..., method="POST", headers=...) queued by one worker is sent as asked by
    whichever worker takes it: the request travels in the Redis entry."""
    sent = search_routes(site)
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed([site], "/")
    procs = [await workers.worker("--extractor", "tests.extractors:searches")
             for _ in range(2)]
    assert await workers.wait_all(procs) == [0, 0], workers.log(1) + workers.log(2)
    for term in ("apple", "banana", "pear"):
        assert sent[("POST", "/search", f"q={term}")] == 1, sent
    db = await asyncpg.connect(pg_dsn)
    try:
        rows = {r["url"]: r["status"] for r in await db.fetch("SELECT url, status FROM pages")}
    finally:
        await db.close()
    feed, = (url for url in rows if url.startswith(site.url("/api/feed#get-")))
    assert rows[feed] == 200  # its token header came along
    assert sum(1 for url in rows if url.startswith(site.url("/search#post-"))) == 4


async def test_redis_restarting_mid_crawl_is_survived(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Redis goes down for a second mid-crawl and comes back from its append-only file; the
    two workers wait, retry with backoff, and finish: every page stored once."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    procs = [await workers.worker() for _ in range(2)]
    await until_stored(pg_dsn, 100)
    await asyncio.to_thread(redis_server.restart, 1.0)
    assert await stored(pg_dsn) < 3 * PAGES, "the restart must fall inside the crawl"
    codes = await workers.wait_all(procs)
    logs = workers.log(1) + workers.log(2)
    assert codes == [0, 0], logs
    assert "Redis unreachable" in logs and "Redis is back after" in logs
    await assert_every_page_once(pg_dsn, sites, redis_server.url)
    assert_per_host_limit_held(sites)


async def test_sigterm_drains_a_worker_and_gives_its_urls_back(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """SIGTERM: the worker stores and acknowledges what it fetched, hands back every lease
    without a record at once (no waiting for expiry) and exits 143; a later worker finishes."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    first = await workers.worker("--lease-seconds", "600")
    await until_stored(pg_dsn, 60)
    first.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(first.wait(), 30) == 128 + signal.SIGTERM, workers.log(1)
    stats = await job_stats(redis_server.url)
    assert stats["leases"] == 0 and stats["queued"] > 0
    assert stats["done"] == await stored(pg_dsn)
    second = await workers.worker("--lease-seconds", "600")
    assert await workers.wait_all([second]) == [0], workers.log(2)
    await assert_every_page_once(pg_dsn, sites, redis_server.url)


async def test_postgresql_outage_pauses_the_crawl_and_loses_nothing(
        sites: list[Site], redis_server: RedisServer, tmp_path: Path) -> None:
    """PostgreSQL stops mid-crawl for two seconds: the worker says so, pauses (its writes
    retry with backoff, its leases are renewed) and finishes with every page stored once."""
    server = start_postgres()
    try:
        workers = Workers(tmp_path, redis_server.url, server.dsn())
        await workers.seed(sites)
        proc = await workers.worker()
        await until_stored(server.dsn(), 100)
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(server.start)
        assert await workers.wait_all([proc]) == [0], workers.log(1)
        log = workers.log(1)
        assert "cannot write to PostgreSQL at" in log and "the crawl is paused" in log
        assert "is back after" in log
        await assert_every_page_once(server.dsn(), sites, redis_server.url)
    finally:
        server.remove()


async def test_redis_gone_for_good_stops_workers_with_one_line(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Redis stays down longer than --outage-seconds: the worker stops with exit 1 and one
    'crawler: error:' line naming the outage, and writes no error records for the pages it had
    in hand (they are not at fault; their leases would bring them back)."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    proc = await workers.worker("--outage-seconds", "1")
    await until_stored(pg_dsn, 60)
    await asyncio.to_thread(redis_server.stop)
    assert await workers.wait_all([proc], 30) == [1]
    errors = [line for line in workers.log(1).splitlines() if line.startswith("crawler: error")]
    assert errors == [errors[0]] and errors[0].startswith(
        "crawler: error: Redis unreachable for more than 1s (--outage-seconds)")
    assert "Traceback" not in workers.log(1)
    db = await asyncpg.connect(pg_dsn)
    bad = await db.fetchval("SELECT count(*) FROM pages WHERE error IS NOT NULL")
    await db.close()
    assert bad == 0


async def test_workers_killed_again_and_again_lose_nothing(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Chaos: four times a worker is SIGKILLed at a random moment and a new one joins: first
    the one that started alone (so it holds leases), then random ones. The job still ends with
    every page stored exactly once, every lease ended, nothing queued, and no host over its
    limit; the killed workers' URLs came back through lease expiry."""
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    print(f"CHAOS_SEED={seed} reproduces this run's kills")
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    live = [await workers.worker()]
    await until_stored(pg_dsn, 30)
    live += [await workers.worker() for _ in range(2)]
    for kill in range(4):
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        victim = live.pop(0 if kill == 0 else rng.randrange(len(live)))
        assert victim.returncode is None, "the crawl ended before the kills"
        victim.kill()
        assert await victim.wait() == -signal.SIGKILL
        live.append(await workers.worker())
    assert await stored(pg_dsn) < 3 * PAGES, "the kills must fall inside the crawl"
    codes = await workers.wait_all(live)
    assert codes == [0, 0, 0], "".join(workers.log(i) for i in range(len(workers.procs)))
    await assert_every_page_once(pg_dsn, sites, redis_server.url)
    assert_per_host_limit_held(sites)
    stats = await job_stats(redis_server.url)
    assert stats["done"] == 3 * PAGES and stats["queued"] == 0 and stats["leases"] == 0
    assert stats["reclaimed"] >= 1


async def test_postgresql_connections_cut_mid_write_are_replaced(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """Five times, the server terminates every connection the worker has (as a failover or an
    administrator does) while a batch is being written: a trigger makes each upsert take 0.1 s,
    so the cuts land mid-transaction. The sink retries through a new pool each time; the crawl
    goes on and every page is stored once."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    proc = await workers.worker()
    await until_stored(pg_dsn, 50)
    admin = await asyncpg.connect(pg_dsn)
    await admin.execute(
        "CREATE FUNCTION slow_write() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$;"
        "CREATE TRIGGER slow_write AFTER INSERT ON pages FOR EACH STATEMENT "
        "EXECUTE FUNCTION slow_write()")
    cut = 0
    try:
        for _ in range(5):
            await asyncio.sleep(0.3)
            cut += await admin.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t")
    finally:
        await admin.close()
    assert cut >= 3 and await stored(pg_dsn) < 3 * PAGES, "the cuts must fall inside the crawl"
    assert await workers.wait_all([proc]) == [0], workers.log(1)
    assert "cannot write to PostgreSQL at" in workers.log(1)
    await assert_every_page_once(pg_dsn, sites, redis_server.url)


async def test_a_worker_serves_its_metrics_while_it_crawls(
        sites: list[Site], redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """`worker --metrics-listen`: while the worker crawls, GET /metrics answers with the job's
    pages by status class (prometheus-client's parser reads it), labelled with the job name."""
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed(sites)
    port = free_port()
    proc = await workers.worker("--metrics-listen", f"127.0.0.1:{port}")
    pages = 0.0
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    text = await resp.text()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
                continue
            pages = sum(s.value for family in text_string_to_metric_families(text)
                        for s in family.samples if s.name == "crawler_pages_total"
                        and s.labels == {"job": JOB, "status_class": "2xx"})
            if pages >= 20:
                break
            await asyncio.sleep(0.05)
    assert pages >= 20
    assert await workers.wait_all([proc]) == [0]
