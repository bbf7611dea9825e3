"""The Redis frontier against a real redis-server: leases, cluster-wide host slots and delay,
the shared seen-set and trap budgets, expiry of a dead worker's leases. Two RedisFrontier
objects on one job stand for two workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from crawler.cluster.job import ClusterJob, create_job, job_prefix
from crawler.cluster.redis_frontier import RedisFrontier, decode_entry, encode_entry
from crawler.errors import CrawlerError
from crawler.frontier.request import Request
from crawler.settings import load_settings
from crawler.urls import fingerprint
from crawler.util.request_spec import RequestSpec, build_spec
from tests.real_servers import RedisServer

pytestmark = pytest.mark.system
A = "http://a.test"
B = "http://b.test"


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.from_url(redis_server.url)
    yield connection
    await connection.aclose()


async def make_job(client: aioredis.Redis, **overrides: Any) -> ClusterJob:
    values = {"per_host": "1", "robots": "false", **{k: str(v) for k, v in overrides.items()}}
    job = ClusterJob.from_settings("t", load_settings(values), [A + "/"])
    stored, created = await create_job(client, job)
    assert created
    return stored


def worker(client: aioredis.Redis, job: ClusterJob, lease: float = 30.0) -> RedisFrontier:
    return RedisFrontier(client, job, concurrency=8, lease_seconds=lease, outage_seconds=5)


def links(*urls: str) -> list[tuple[str, int]]:
    return [(url, fingerprint(url)) for url in urls]


async def next_now(frontier: RedisFrontier) -> Request | None:
    """A request if one is ready at once (no waiting on a host's delay)."""
    try:
        async with asyncio.timeout(0.1):
            return await frontier.get()
    except TimeoutError:
        return None


def test_entries_round_trip() -> None:
    """A queued entry keeps everything a request carries between workers."""
    request = Request("http://a.test/x?y=1", 3, "http://a.test/", 2, fingerprint("u"),
                      attempts=1, robots_waits=1)
    assert decode_entry(encode_entry(request)) == request
    spec = build_spec("POST", data={"q": "x"}, headers={"X-Token": "t"})
    name = spec.named("http://a.test/s")
    posted = Request(name, 1, "http://a.test/", 0, fingerprint(name), spec=spec.encode())
    assert decode_entry(encode_entry(posted)) == posted
    assert RequestSpec.decode(posted.spec or "") == spec and posted.target == "http://a.test/s"


async def test_one_host_slot_holds_across_workers_until_released(client: aioredis.Redis
                                                                 ) -> None:
    """With per_host 1, a second worker gets nothing from a host while the first fetches; the
    release (done) frees the slot for either."""
    job = await make_job(client)
    first, second = worker(client, job), worker(client, job)
    assert await first.add_links(links(A + "/1", A + "/2"), 1, None) == []
    got = await next_now(first)
    assert got is not None and got.url == A + "/1"
    assert await next_now(second) is None
    first.done(got)
    await first.ack([got.fp])
    got2 = await next_now(second)
    assert got2 is not None and got2.url == A + "/2"


async def test_delay_between_starts_holds_across_workers(client: aioredis.Redis) -> None:
    """--delay 0.3: leases of one host by two workers start at least 0.3 s apart on Redis's
    clock, while another host is served at once."""
    job = await make_job(client, delay=0.3, per_host=4)
    first, second = worker(client, job), worker(client, job)
    await first.add_links(links(A + "/1", A + "/2", B + "/1"), 1, None)
    loop = asyncio.get_running_loop()
    begin = loop.time()
    one, other = await next_now(first), await next_now(first)  # one lease call takes both
    assert {one.url, other.url} == {A + "/1", B + "/1"}  # type: ignore[union-attr]
    assert await next_now(second) is None  # a.test's next start is 0.3 s away
    later = await asyncio.wait_for(second.get(), 5)
    assert later is not None and later.url == A + "/2"
    assert loop.time() - begin >= 0.28


async def test_seen_set_is_shared_and_compact(client: aioredis.Redis) -> None:
    """A URL queued by one worker is not queued again by another; fingerprints live in
    intset-encoded buckets."""
    job = await make_job(client)
    first, second = worker(client, job), worker(client, job)
    await first.add_links(links(A + "/1", A + "/2"), 1, None)
    await second.add_links(links(A + "/2", A + "/3"), 1, None)
    assert (first.added, second.added) == (2, 1)
    buckets = [k async for k in client.scan_iter(job_prefix("t") + ":seen:*")]
    assert buckets and {await client.object("encoding", k) for k in buckets} == {b"intset"}
    assert await client.hget(job_prefix("t") + ":stats", "admitted") == b"3"


async def test_trap_budgets_are_cluster_wide_and_reported_once(client: aioredis.Redis) -> None:
    """--max-pages-per-host 2 counts every worker's URLs; the pruned URL is reported once;
    --max-depth prunes before Redis queues anything."""
    job = await make_job(client, max_pages_per_host=2, max_depth=2)
    first, second = worker(client, job), worker(client, job)
    assert await first.add_links(links(A + "/1"), 1, None) == []
    assert await second.add_links(links(A + "/2"), 1, None) == []
    pruned = await second.add_links(links(A + "/3"), 1, None)
    assert [(u, r) for u, _, r in pruned] == [
        (A + "/3", "trap: host already has --max-pages-per-host 2 URLs")]
    assert await first.add_links(links(A + "/3"), 1, None) == []  # seen: not reported again
    deep = await first.add_links(links(B + "/deep"), 3, None)
    assert [r for _, _, r in deep] == ["trap: deeper than --max-depth 2"]
    assert await second.add_links(links(B + "/deep"), 3, None) == []


async def test_query_variants_are_counted_per_path_across_workers(client: aioredis.Redis
                                                                  ) -> None:
    """--max-query-variants 2: the third query on one path is pruned, whichever worker finds
    it; another path has its own count."""
    job = await make_job(client, max_query_variants=2)
    first, second = worker(client, job), worker(client, job)
    assert await first.add_links(links(A + "/s?q=1", A + "/s?q=2"), 1, None) == []
    pruned = await second.add_links(links(A + "/s?q=3", A + "/t?q=3"), 1, None)
    assert [(u, r) for u, _, r in pruned] == [
        (A + "/s?q=3", "trap: path already has --max-query-variants 2 queries")]
    assert (first.added, second.added) == (2, 1)


async def test_a_dead_workers_lease_returns_to_the_queue(client: aioredis.Redis) -> None:
    """A worker that stops renewing (it died) loses its lease after lease_seconds; the URL goes
    back to the head of its host's queue with its attempts, and its late ack is ignored."""
    job = await make_job(client)
    dead, alive = worker(client, job, lease=1), worker(client, job, lease=1)
    await dead.add_links(links(A + "/1"), 1, None)
    taken = await next_now(dead)
    assert taken is not None
    assert await next_now(alive) is None
    await asyncio.sleep(1.1)
    again = await asyncio.wait_for(alive.get(), 5)
    assert again is not None and again.url == A + "/1"
    await dead.ack([taken.fp])  # too late: the lease is the other worker's now
    stats = await client.hgetall(job_prefix("t") + ":stats")
    assert stats[b"reclaimed"] == b"1" and stats.get(b"done", b"0") == b"0"
    alive.done(again)
    await alive.ack([again.fp])
    assert await asyncio.wait_for(alive.get(), 5) is None  # nothing queued or leased: finished


async def test_renewed_leases_outlive_their_lifetime(client: aioredis.Redis) -> None:
    """A live worker renews its leases, so a fetch longer than lease_seconds keeps its URL."""
    job = await make_job(client)
    holder, other = worker(client, job, lease=1), worker(client, job, lease=1)
    holder.start()
    await holder.add_links(links(A + "/1"), 1, None)
    assert await next_now(holder) is not None
    await asyncio.sleep(1.6)
    assert await next_now(other) is None
    await holder.shutdown()


def fail_renewals(frontier: RedisFrontier, times: int) -> list[int]:
    """Make the frontier's next `times` lease renewals raise; returns a list counting them."""
    failed: list[int] = []
    call = frontier._call

    async def flaky(script: Any, args: Any) -> Any:
        if script is frontier._renew and len(failed) < times:
            failed.append(1)
            raise RuntimeError("injected renewal failure")
        return await call(script, args)

    frontier._call = flaky  # type: ignore[method-assign]
    return failed


async def test_a_failed_renewal_does_not_end_the_renewer(client: aioredis.Redis) -> None:
    """An unexpected error in one renewal is logged and the next turn renews again, so the
    lease is kept (it was lost when the renewer died silently)."""
    job = await make_job(client)
    holder, other = worker(client, job, lease=1), worker(client, job, lease=1)
    failed = fail_renewals(holder, 1)
    holder.start()
    await holder.add_links(links(A + "/1"), 1, None)
    assert await next_now(holder) is not None
    await asyncio.sleep(1.6)
    assert failed == [1] and await next_now(other) is None
    await holder.shutdown()


async def test_renewals_that_keep_failing_stop_the_worker_loudly(client: aioredis.Redis) -> None:
    """Three renewals failing in a row stop the worker: its next get() raises, naming why."""
    job = await make_job(client)
    holder = worker(client, job, lease=1)
    fail_renewals(holder, 100)
    holder.start()
    await holder.add_links(links(A + "/1", A + "/2"), 1, None)
    assert await next_now(holder) is not None
    await asyncio.sleep(1.6)
    with pytest.raises(CrawlerError, match="renewing leases failed 3 times in a row"):
        await asyncio.wait_for(holder.get(), 5)
    await holder.shutdown()


async def test_requeue_and_shutdown_give_urls_back(client: aioredis.Redis) -> None:
    """A retry goes back to the head of the queue with its attempts; shutdown returns every
    lease that got no record, so another worker finishes the job."""
    job = await make_job(client, per_host=2)
    first, second = worker(client, job), worker(client, job)
    await first.add_links(links(A + "/1", A + "/2"), 1, None)
    one, two = await next_now(first), await next_now(first)
    assert one is not None and two is not None
    one.attempts = 1
    first.requeue(one, 0.0)
    again = await next_now(first)
    assert again is not None and (again.url, again.attempts) == (one.url, 1)
    await first.shutdown()
    urls = {r.url for r in [await next_now(second), await next_now(second)] if r is not None}
    assert urls == {A + "/1", A + "/2"}


async def test_an_unseeded_job_is_a_clear_error(client: aioredis.Redis) -> None:
    """A worker pointed at a job nobody seeded is told to seed it."""
    job = ClusterJob.from_settings("nope", load_settings({}), [])
    with pytest.raises(CrawlerError, match=r"job 'nope' is not in Redis \(seed it first"):
        await worker(client, job).get()
