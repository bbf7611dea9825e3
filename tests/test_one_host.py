"""One host, one politeness budget: ports and schemes of a host share its slots, a trailing dot
is the same host, credentials in links make no new URL and are never sent; a robots.txt that
redirects into a refused address counts as unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from crawler.urls import canonical
from tests.conftest import by_url
from tests.site import Gauge, Site


def test_the_canonical_form_drops_trailing_dots_and_credentials() -> None:
    assert canonical("http://u:p@Example.COM.:8080/a") == "http://example.com:8080/a"
    assert canonical("https://example.com./") == "https://example.com/"
    assert canonical("http://./") == "http://./"  # nothing but dots: left as the parser says


@pytest.fixture
async def two_ports() -> AsyncIterator[tuple[Site, Site, Gauge]]:
    shared = Gauge()
    first, second = Site(delay=0.05, shared=shared), Site(delay=0.05, shared=shared)
    await first.start()
    await second.start()
    yield first, second, shared
    await first.stop()
    await second.stop()


async def test_ports_of_one_host_share_its_politeness_budget(
        two_ports: tuple[Site, Site, Gauge], crawl: Any) -> None:
    """Two servers on 127.0.0.1 (two origins, one host) with --per-host 1: never two requests
    at once between them (each origin had its own slot before)."""
    first, second, shared = two_ports
    for site in (first, second):
        site.page("/", *(f"/p{i}" for i in range(10)))
        for i in range(10):
            site.page(f"/p{i}")
    records = await crawl([first.url("/"), second.url("/")], per_host=1, concurrency=8)
    assert len(records) == 22 and shared.peak == 1


async def test_credentials_in_links_make_no_new_url_and_are_not_sent(site: Site,
                                                                     crawl: Any) -> None:
    """30 spellings of one page with user:pass@ in the link: fetched once, no Authorization
    sent, no credential stored in any record."""
    host = site.base.removeprefix("http://")
    site.page("/", *(f"http://user{i}:secret{i}@{host}/target" for i in range(30)))
    site.page("/target")
    records = await crawl([site.url("/")])
    assert site.page_hits()["/target"] == 1
    assert all("Authorization" not in headers for _, headers in site.headers)
    assert not any("secret" in str(record) for record in records)


async def test_a_robots_txt_redirecting_into_a_refused_address_is_unavailable(
        site: Site, crawl: Any) -> None:
    """robots.txt -> http://169.254.169.254/robots.txt: the guard refuses the target, the host
    answered, so its robots.txt counts as unavailable (no rules) and the site is crawled; it
    was blocked for the whole crawl with an address error."""
    site.redirect("/robots.txt", "http://169.254.169.254/robots.txt")
    site.page("/", "/a")
    site.page("/a")
    records = by_url(await crawl([site.url("/")]))
    assert records[site.url("/a")]["status"] == 200 and records[site.url("/a")]["error"] is None


async def test_per_ip_limits_every_host_on_one_address(site: Site, crawl: Any) -> None:
    """--per-ip 1: `localhost` and `127.0.0.1` are two hosts on one address; together they
    never get two requests at once (each host alone may take --per-host 2)."""
    site.delay = 0.05
    site.page("/", *(f"/p{i}" for i in range(8)))
    for i in range(8):
        site.page(f"/p{i}")
    port = site.base.rsplit(":", 1)[1]
    seeds = [site.url("/"), f"http://localhost:{port}/"]
    await crawl(seeds, per_host=2, concurrency=8, per_ip=1, robots="false")
    assert site.max_active == 1
    assert sum(site.page_hits().values()) == 18
