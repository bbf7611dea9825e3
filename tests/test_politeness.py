"""Integration: robots.txt, Crawl-delay, Retry-After, retries and per-host limits, asserted on
what local servers saw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.conftest import by_url
from tests.site import Gauge, Site

ROBOTS = b"""# several groups: only ours applies
User-agent: othercrawler
Disallow: /

User-agent: crawler
Disallow: /private/
Allow: /private/open.html
Crawl-delay: 0.3

User-agent: *
Disallow: /
"""


def text_file(site: Site, path: str, body: bytes, status: int = 200) -> None:
    site.add(path, body, status=status, content_type="text/plain")


async def test_robots_rules_are_obeyed_and_disallowed_urls_recorded(site: Site, crawl) -> None:
    """Disallowed URLs are never requested and get a record saying why; an Allow line overrides
    a Disallow; the group for our product token is the one applied."""
    text_file(site, "/robots.txt", ROBOTS)
    site.page("/", "/private/secret.html", "/private/open.html", "/public.html")
    for path in ("/private/secret.html", "/private/open.html", "/public.html"):
        site.page(path)
    records = by_url(await crawl([site.url("/")], per_host=4))
    assert "/private/secret.html" not in site.hits
    assert records[site.url("/private/secret.html")]["error"] == "disallowed by robots.txt"
    assert records[site.url("/private/secret.html")]["attempts"] == 0
    assert records[site.url("/private/open.html")]["status"] == 200
    assert records[site.url("/public.html")]["status"] == 200
    assert site.hits["/robots.txt"] == 1


async def test_crawl_delay_spaces_every_request(site: Site, crawl) -> None:
    """Crawl-delay 0.3 holds between all page requests to the host, even with 4 slots."""
    text_file(site, "/robots.txt", ROBOTS)
    site.page("/", *[f"/p{i}" for i in range(5)])
    for i in range(5):
        site.page(f"/p{i}")
    await crawl([site.url("/")], per_host=4)
    gaps = site.gaps()
    assert len(gaps) == 5 and min(gaps) >= 0.3 - 0.01


async def test_user_delay_wins_when_larger_than_crawl_delay(site: Site, crawl) -> None:
    """--delay 0.4 beats a Crawl-delay of 0.3."""
    text_file(site, "/robots.txt", ROBOTS)
    site.page("/", "/a", "/b")
    site.page("/a")
    site.page("/b")
    await crawl([site.url("/")], per_host=4, delay=0.4)
    assert min(site.gaps()) >= 0.4 - 0.01


async def test_robots_404_allows_everything(site: Site, crawl) -> None:
    """A robots.txt answering 404 means no rules."""
    site.page("/", "/private/x")
    site.page("/private/x")
    records = by_url(await crawl([site.url("/")]))
    assert records[site.url("/private/x")]["status"] == 200


@pytest.mark.parametrize("failure", ["503", "429", "timeout"])
async def test_unreachable_robots_blocks_the_host_until_it_answers(site: Site, crawl,
                                                                    failure: str) -> None:
    """robots.txt failing with 5xx, 429 (RFC 9309 and Google read it as 5xx, not as "no
    rules") or a timeout: no page is requested; when a later attempt succeeds, the crawl goes
    on; when every attempt fails, the URLs get records saying so."""
    answers = iter([failure, failure, "ok"])

    async def robots(_: web.Request) -> web.Response:
        answer = next(answers, "ok")
        if answer in ("503", "429"):
            return web.Response(status=int(answer))
        if answer == "timeout":
            await asyncio.sleep(2)
        return web.Response(text="User-agent: *\nDisallow: /nope\n")

    site.route("/robots.txt", robots)
    site.page("/", "/a")
    site.page("/a")
    records = by_url(await crawl([site.url("/")], retries=2, timeout=0.3))
    assert site.log[:3] == ["/robots.txt"] * 3
    assert records[site.url("/a")]["status"] == 200

    answers = iter([failure] * 10)
    site.hits.clear()
    site.log.clear()
    records = by_url(await crawl([site.url("/")], retries=1, timeout=0.3))
    assert set(site.log) == {"/robots.txt"}
    assert records[site.url("/")]["error"].startswith("robots.txt unreachable")


async def test_robots_redirect_is_followed(site: Site, crawl) -> None:
    """A robots.txt that redirects is read from where it leads."""
    site.redirect("/robots.txt", "/real-robots.txt")
    text_file(site, "/real-robots.txt", b"User-agent: *\nDisallow: /blocked\n")
    site.page("/", "/blocked", "/fine")
    site.page("/fine")
    records = by_url(await crawl([site.url("/")]))
    assert "/blocked" not in site.hits
    assert records[site.url("/blocked")]["error"] == "disallowed by robots.txt"


async def test_no_robots_ignores_the_rules_and_never_asks(site: Site, crawl, caplog) -> None:
    """--no-robots fetches disallowed pages, never requests robots.txt, and warns."""
    text_file(site, "/robots.txt", b"User-agent: *\nDisallow: /\n")
    site.page("/", "/a")
    site.page("/a")
    records = by_url(await crawl([site.url("/")], robots="false"))
    assert records[site.url("/a")]["status"] == 200
    assert "/robots.txt" not in site.hits
    assert any("--no-robots" in r.message and r.levelname == "WARNING" for r in caplog.records)


async def test_robots_beyond_the_size_cap_is_not_parsed(site: Site, crawl) -> None:
    """Rules after the first --robots-max-bytes of robots.txt do not apply."""
    padding = b"# padding\n" * 60_000  # 600 kB of comments
    text_file(site, "/robots.txt", b"User-agent: *\nDisallow: /early\n" + padding
              + b"Disallow: /late\n")
    site.page("/", "/early", "/late")
    site.page("/late")
    records = by_url(await crawl([site.url("/")]))
    assert records[site.url("/early")]["error"] == "disallowed by robots.txt"
    assert records[site.url("/late")]["status"] == 200


async def test_retry_after_is_honoured_for_the_whole_host(site: Site, crawl) -> None:
    """After a 429 with Retry-After: 1, the host gets no request for 1 second, then the URL is
    fetched again and succeeds."""
    answers = iter([429])

    async def limited(_: web.Request) -> web.Response:
        if next(answers, 200) == 429:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="<title>ok</title>", content_type="text/html")

    site.route("/limited", limited)
    site.page("/", "/limited", *[f"/p{i}" for i in range(6)])
    for i in range(6):
        site.page(f"/p{i}")
    records = by_url(await crawl([site.url("/")], per_host=1))
    assert records[site.url("/limited")]["status"] == 200
    assert records[site.url("/limited")]["attempts"] == 2
    refused_at = next(t for t, path in site.arrivals if path == "/limited")
    later = [t for t, _ in site.arrivals if t > refused_at]
    assert later and min(later) - refused_at >= 1.0 - 0.02


async def test_too_long_retry_after_gives_the_host_up(site: Site, crawl) -> None:
    """A Retry-After beyond --max-retry-after: the host gets no more requests, and each of its
    URLs gets a record saying why."""
    site.page("/", "/busy", "/p1", "/p2")
    site.add("/busy", b"", status=503, headers={"Retry-After": "3600"})
    site.page("/p1")
    site.page("/p2")
    records = by_url(await crawl([site.url("/")], per_host=1, max_retry_after=10))
    assert "/p1" not in site.hits and "/p2" not in site.hits
    for path in ("/busy", "/p1", "/p2"):
        assert "host given up" in records[site.url(path)]["error"]


async def test_server_errors_are_retried_then_recorded(site: Site, crawl) -> None:
    """A 500 is retried up to --retries times: success on the 3rd attempt is recorded as 200
    with 3 attempts; an endless 500 ends as a 500 record after retries + 1 attempts."""
    answers = iter([500, 502])

    async def flaky(_: web.Request) -> web.Response:
        return web.Response(status=next(answers, 200), text="x", content_type="text/html")

    site.route("/flaky", flaky)
    site.add("/broken", b"", status=500)
    site.page("/", "/flaky", "/broken")
    records = by_url(await crawl([site.url("/")], retries=2))
    assert records[site.url("/flaky")]["status"] == 200
    assert records[site.url("/flaky")]["attempts"] == 3
    assert records[site.url("/broken")]["status"] == 500
    assert records[site.url("/broken")]["attempts"] == 3 and site.hits["/broken"] == 3


async def test_not_found_is_not_retried(site: Site, crawl) -> None:
    """A 404 is an answer, not a failure: one request."""
    site.page("/", "/missing")
    await crawl([site.url("/")], retries=3)
    assert site.hits["/missing"] == 1


@pytest.fixture
async def five_hosts() -> AsyncIterator[tuple[list[Site], Gauge]]:
    """5 sites on 127.0.0.1 ... 127.0.0.5, 30 slow pages each, sharing one gauge."""
    shared = Gauge()
    sites = [Site(host=f"127.0.0.{n}", delay=0.05, shared=shared) for n in range(1, 6)]
    for site in sites:
        await site.start()
        site.page("/", *[f"/p{i}" for i in range(30)])
        for i in range(30):
            site.page(f"/p{i}")
    yield sites, shared
    for site in sites:
        await site.stop()


async def test_per_host_limit_holds_while_the_crawl_stays_busy(five_hosts, crawl) -> None:
    """5 hosts with 30 pages each and --concurrency 60, far more than their slots: every host
    reaches exactly --per-host 2 requests at once and never more, so the crawl as a whole holds
    10 in flight (with 50 hosts and 60 slots no host ever wanted more than 2: that test passed
    with the limit doubled)."""
    sites, shared = five_hosts
    records = await crawl([s.url("/") for s in sites], scope="any", per_host=2, concurrency=60)
    assert len(records) == 5 * 31
    assert [s.max_active for s in sites] == [2] * 5
    assert shared.peak == 10


async def test_equivalent_spellings_across_forms_are_fetched_once(site: Site, crawl) -> None:
    """Hex and integer IPv4 forms, tracking parameters and percent-encoding variants of one URL
    cost one fetch."""
    port = site.base.rsplit(":", 1)[1]
    site.page("/", f"http://0x7f.1:{port}/x", f"http://2130706433:{port}/x",
              "/x?utm_source=mail&utm_medium=news", "/%78", "/x?fbclid=abc")
    site.page("/x")
    records = by_url(await crawl([site.url("/")]))
    assert set(records) == {site.url("/"), site.url("/x")}
    assert site.hits["/x"] == 1


async def test_page_directives(site: Site, crawl) -> None:
    """<meta name=robots nofollow> and X-Robots-Tag nofollow stop following; rel=nofollow links
    are not followed; noindex and <link rel=canonical> are recorded; a meta refresh is followed
    like a redirect."""
    site.page("/", "/meta-nofollow", "/header-nofollow", "/refresh", "/canon")
    site.page("/meta-nofollow", "/hidden-1",
              extra='<meta name="robots" content="noindex, nofollow">')
    site.add("/header-nofollow", b'<a href="/hidden-2">x</a>',
             headers={"X-Robots-Tag": "crawler: nofollow"})
    site.page("/canon", "/hidden-3", extra='<link rel="canonical" href="/canonical-home">'
              '<a rel="nofollow" href="/hidden-4">n</a>')
    site.page("/refresh", extra='<meta http-equiv="refresh" content="0; url=/refreshed">')
    site.page("/refreshed")
    records = by_url(await crawl([site.url("/")]))
    assert not {"/hidden-1", "/hidden-2", "/hidden-4"} & set(site.hits)
    assert records[site.url("/meta-nofollow")]["noindex"] is True
    assert records[site.url("/meta-nofollow")]["nofollow"] is True
    assert records[site.url("/header-nofollow")]["nofollow"] is True
    assert records[site.url("/canon")]["canonical_url"] == site.url("/canonical-home")
    assert site.hits["/hidden-3"] == 1
    assert records[site.url("/refresh")]["final_url"] == site.url("/refreshed")
    assert records[site.url("/refreshed")]["redirects"] == 1


async def test_autothrottle_slows_down_for_a_slow_host(site: Site, crawl) -> None:
    """With autothrottle (target 1 request in flight) a host answering in 0.1s never sees more
    than 2 requests at once, though --per-host allows 4."""
    site.delay = 0.1
    site.page("/", *[f"/p{i}" for i in range(12)])
    for i in range(12):
        site.page(f"/p{i}")
    await crawl([site.url("/")], per_host=4, autothrottle="true", autothrottle_start=0.2,
                autothrottle_target=1)
    assert site.max_active <= 2


@pytest.mark.timeout(60)
async def test_a_huge_crawl_delay_gives_the_host_up(two_sites: tuple[Site, Site],
                                                    crawl) -> None:
    """Crawl-delay: 1000000000 once made the crawl wait forever: a host asking for more than
    --max-crawl-delay is given up, a record per URL; the other host is crawled as usual."""
    slow, other = two_sites
    slow.add("/robots.txt", b"User-agent: *\nCrawl-delay: 1000000000\n",
             content_type="text/plain")
    slow.page("/", "/a", "/b")
    other.page("/", "/c")
    other.page("/c")
    records = by_url(await crawl([slow.url("/"), other.url("/")]))
    assert records[slow.url("/")]["error"] == (
        "host asked for Crawl-delay 1e+09s, more than --max-crawl-delay 300s: host given up")
    assert set(slow.page_hits()) == set()
    assert records[other.url("/c")]["status"] == 200


@pytest.mark.timeout(60)
async def test_the_crawl_delay_cap_is_max_crawl_delay_not_max_retry_after(
        two_sites: tuple[Site, Site], crawl) -> None:
    """Crawl-delay: 5 with --max-crawl-delay 1 gives the host up even though --max-retry-after
    (600) would allow it; with --max-crawl-delay 10 and --max-retry-after 1 it is obeyed."""
    slow, _ = two_sites
    slow.add("/robots.txt", b"User-agent: *\nCrawl-delay: 5\n", content_type="text/plain")
    slow.page("/")
    records = by_url(await crawl([slow.url("/")], max_crawl_delay="1"))
    assert records[slow.url("/")]["error"] == (
        "host asked for Crawl-delay 5s, more than --max-crawl-delay 1s: host given up")
    records = by_url(await crawl([slow.url("/")], max_crawl_delay="10", max_retry_after="1"))
    assert records[slow.url("/")]["status"] == 200
