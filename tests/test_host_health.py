"""Hosts that accept connections and never answer are paused, then given up: they cannot hold
the crawl's fetch slots for hours, and each of their URLs still gets a record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from crawler.fetch.hosthealth import HostHealth, Verdict
from tests.raw_site import HANG, RawSite
from tests.site import Site

HUNG_HOSTS = 16
URLS_PER_HOST = 10


def test_a_run_of_failures_pauses_then_gives_up_and_an_answer_clears_it() -> None:
    health = HostHealth(threshold=2)
    assert health.record("http://a", "timeout: no complete response within 1s") is None
    assert health.record("http://a", "connection failed: refused") is Verdict.PAUSE
    assert health.record("http://a", "server disconnected") is None
    assert health.record("http://a", "timeout: x") is Verdict.GIVE_UP
    assert health.record("http://b", "timeout: x") is None
    assert health.record("http://b", None) is None  # any HTTP answer clears the count
    assert health.record("http://b", "timeout: x") is None
    assert health.record("http://b", "incomplete body: x") is None  # the host did answer
    assert HostHealth(threshold=0).record("http://c", "timeout: x") is None


@pytest.fixture
async def hung_hosts() -> AsyncIterator[list[RawSite]]:
    hosts = [RawSite(host=f"127.0.0.{n + 2}") for n in range(HUNG_HOSTS)]  # one host each:
    # politeness, and so host health, is per host, whatever the port
    for host in hosts:
        host.responses.update({f"/{i}": HANG for i in range(URLS_PER_HOST)})
        await host.start()
    yield hosts
    for host in hosts:
        await host.stop()


async def test_hosts_that_never_answer_are_given_up(hung_hosts: list[RawSite], site: Site,
                                                    crawl: Any) -> None:
    """Sixteen silent hosts with ten URLs each beside a healthy site: every URL gets a record,
    each silent host gets at most 2 x --host-failures + --per-host requests (not 10 URLs x 3
    attempts), and the healthy site is crawled whole."""
    site.page("/", *(f"/h{i}" for i in range(20)))
    for i in range(20):
        site.page(f"/h{i}")
    seeds = [site.url("/")] + [h.url(f"/{i}") for h in hung_hosts for i in range(URLS_PER_HOST)]
    records = await crawl(seeds, concurrency=32, per_host=2, timeout=0.5, host_failures=2,
                          host_pause=0.3, retries=2)
    by_url = {r["url"]: r for r in records}
    assert len(by_url) == len(records) == 21 + HUNG_HOSTS * URLS_PER_HOST
    for host in hung_hosts:
        assert sum(host.hits.values()) <= 2 * 2 + 2, host.hits
        errors = {by_url[host.url(f"/{i}")]["error"].split(":")[0] for i in range(URLS_PER_HOST)}
        assert errors <= {"timeout", "host unreachable"} and "host unreachable" in errors
    assert all(by_url[site.url(f"/h{i}")]["status"] == 200 for i in range(20))
