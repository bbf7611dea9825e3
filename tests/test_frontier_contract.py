"""What the engine relies on from every frontier (FrontierAPI), checked on both: the job
directory's Frontier and the Redis one. The Redis case needs a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from crawler.cluster.job import ClusterJob, create_job
from crawler.cluster.redis_frontier import RedisFrontier
from crawler.frontier.api import FrontierAPI
from crawler.frontier.local import Frontier
from crawler.frontier.request import Request
from crawler.frontier.traps import PatternChain
from crawler.settings import load_settings
from crawler.urls import fingerprint

SEED = "http://a.test/"
Opener = Callable[[], Awaitable[FrontierAPI]]  # another handle on the same frontier


async def get_now(frontier: FrontierAPI) -> Request | None:
    async with asyncio.timeout(2):
        return await frontier.get()


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.system)])
async def frontiers(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FrontierAPI, Opener]]:
    """(a frontier holding SEED, a way to open a second handle on the same queue: for the
    local frontier the same object, as a resumed run would restore it; for Redis a second
    worker)."""
    if request.param == "local":
        local = Frontier(per_host=2)
        yield local, lambda: _same(local)
        return
    server = request.getfixturevalue("redis_server")
    client = aioredis.from_url(server.url)
    job = ClusterJob.from_settings("contract", load_settings({"robots": "false"}), [SEED])
    job, _ = await create_job(client, job)

    async def open_worker() -> FrontierAPI:
        return RedisFrontier(client, job, concurrency=4, lease_seconds=30, outage_seconds=5)

    first = await open_worker()
    await first.add_links([(SEED, fingerprint(SEED))], 0, None)
    yield first, open_worker
    await client.aclose()


async def _same(frontier: FrontierAPI) -> FrontierAPI:
    return frontier


async def test_links_added_after_close_are_queued_not_lost(
        frontiers: tuple[FrontierAPI, Opener]) -> None:
    """close() stops get(); a page finishing after it still queues its links, and they are
    there for whoever takes the queue next (a resumed run, another worker)."""
    frontier, open_again = frontiers
    if isinstance(frontier, Frontier):
        frontier.add(SEED, fingerprint(SEED), 0)
    request = await get_now(frontier)
    assert request is not None and request.url == SEED
    frontier.close()
    assert await get_now(frontier) is None
    late = "http://a.test/found-during-grace"
    pruned = await frontier.add_links([(late, fingerprint(late))], 1, SEED)
    assert pruned == []
    frontier.done(request)
    if isinstance(frontier, Frontier):  # what the job state journals is what add() queued
        assert frontier.queued == 1 and frontier.pending == 1
        return
    other = await open_again()
    taken = await get_now(other)
    assert taken is not None and taken.url == late


async def test_a_page_opening_several_pages_of_its_pattern_spends_that_much_chain(
        frontiers: tuple[FrontierAPI, Opener]) -> None:
    """A month linking the next month and two views of itself (three new pages of its
    pattern) passes its chain on two links longer; a link out of the pattern starts at 0, and
    a page opening one new page of its pattern (pagination) spends one."""
    frontier, _ = frontiers
    month = "http://a.test/events/2026/1"
    opened = [("http://a.test/events/2026/2", 7), (month + "?view=week", 7),
              (month + "?view=day&d=3", 7), ("http://a.test/about", 0)]
    await frontier.add_links([(url, fingerprint(url)) for url, _ in opened], 1, month,
                             chain_from=PatternChain.of(month, 5))
    page = "http://a.test/page/4"
    await frontier.add_links([(url, fingerprint(url)) for url in (SEED, "http://a.test/page/5")],
                             1, page, chain_from=PatternChain.of(page, 3))
    chains = {}
    for _ in range(len(opened) + 2):
        request = await get_now(frontier)
        assert request is not None
        chains[request.url] = request.chain
        frontier.done(request)
    assert chains == {SEED: 0, **dict(opened), "http://a.test/page/5": 4}
