"""Infinite path spaces: a calendar whose every page links to the next month (a new path each
time, no segment repeated) and to a few query views of itself is cut after a bounded number of
pages with trap records; pagination and numbered pages within the limit survive whole."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from tests.site import Site, html

VIEWS = ("?view=week", "?view=day", "?view=list")


def serve_calendar(site: Site, views: Callable[[int, int], list[str]]) -> None:
    """/events/YEAR/MONTH for every month there ever was or will be, each linking the next
    month and the `views` of itself."""
    async def month(request: web.Request) -> web.Response:
        found = re.fullmatch(r"/events/(\d+)/(\d+)", request.path)
        if found is None:
            return web.Response(status=404)
        year, month_ = int(found.group(1)), int(found.group(2))
        nxt = (year + month_ // 12, month_ % 12 + 1)
        links = [f"/events/{nxt[0]}/{nxt[1]}", *views(year, month_)]
        return web.Response(text=html(f"{year}-{month_}", *links), content_type="text/html")

    site.fallback = month


def random_day(rng: random.Random) -> Callable[[int, int], list[str]]:
    """A week view and a day view of a random day, new on each visit."""
    return lambda year, month: ["?view=week", f"?view=day&d={rng.randint(1, 28)}"]


@pytest.mark.parametrize("views", [
    pytest.param(lambda year, month: list(VIEWS), id="three-views"),
    pytest.param(random_day(random.Random(1)), id="random-day-view"),
    pytest.param(lambda year, month: [f"?day={d}" for d in range(1, 32)], id="every-day"),
])
async def test_an_infinite_calendar_is_cut_after_a_bounded_number_of_pages(
        site: Site, crawl: Any, views: Callable[[int, int], list[str]]) -> None:
    """With the defaults the calendar stops well under 1,000 pages, whatever the number of
    views each month links; the URLs past the limit get `trap:` records (it went 98,969
    pages deep before; the random day view ran to 1,611 pages and every day's view to 4,800
    when the chain counted hops rather than pages)."""
    serve_calendar(site, views)
    records = await crawl([site.url("/events/2026/1")], concurrency=16, per_host=16)
    fetched = [r for r in records if r["status"] == 200]
    traps = [r for r in records if (r["error"] or "").startswith(
        "trap: more than --max-pattern-chain 150")]
    months = {r["url"].split("?")[0] for r in fetched}
    assert 100 < len(fetched) < 1000, len(fetched)
    assert len(months) >= 4, sorted(months)
    assert traps and sum(site.page_hits().values()) == len(fetched)


async def test_pagination_and_numbered_pages_within_the_limit_survive(site: Site,
                                                                      crawl: Any) -> None:
    """A 150-page chain of "next" links, 400 pages of a listing whose pages link two pages
    either side and the first and last, and 2,000 numbered pages listed from index pages, are
    crawled whole: siblings found on one page do not chain, and a page of the listing opens
    one new page of it."""
    for n in range(1, 151):
        site.page(f"/blog/page/{n}", *([f"/blog/page/{n + 1}"] if n < 150 else []))

    async def listing(request: web.Request) -> web.Response:
        n = int(request.query["page"])
        near = sorted({1, 400, *(m for m in range(n - 2, n + 3) if 1 <= m <= 400)} - {n})
        return web.Response(text=html(str(n), *(f"?page={m}" for m in near)),
                            content_type="text/html")

    site.route("/list", listing)
    for n in range(20):
        site.page(f"/catalog/{n}", *(f"/item/{n * 100 + i}" for i in range(100)))
    for n in range(2000):
        site.page(f"/item/{n}")
    site.page("/", "/blog/page/1", "/list?page=1", *(f"/catalog/{n}" for n in range(20)))
    records = await crawl([site.url("/")], concurrency=16, per_host=16)
    assert all(r["error"] is None for r in records), [r for r in records if r["error"]][:3]
    assert len(records) == 1 + 150 + 400 + 20 + 2000


async def test_a_calendar_in_the_query_is_cut_by_the_same_chain(site: Site,
                                                                crawl: Any) -> None:
    """/cal?m=N links to /cal?m=N+1 only: another query of the same path extends the chain,
    so the crawl stops at --max-pattern-chain (151 pages), not at the 1,000 query variants
    of one path."""
    async def month(request: web.Request) -> web.Response:
        n = int(request.query.get("m", "0"))
        return web.Response(text=html(str(n), f"/cal?m={n + 1}"), content_type="text/html")

    site.route("/cal", month)
    records = await crawl([site.url("/cal?m=0")])
    fetched = [r for r in records if r["status"] == 200]
    assert len(fetched) == 151
    assert [r["error"] for r in records if r["status"] is None] == [
        "trap: more than --max-pattern-chain 150 links in a row within one path pattern"]
