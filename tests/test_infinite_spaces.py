"""Infinite path spaces: a calendar whose every page links to the next month (a new path each
time, no segment repeated) and to a few query views of itself is cut after a bounded number of
pages with trap records; pagination and numbered pages within the limit survive whole."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.site import Site, html

VIEWS = ("week", "day", "list")


def serve_calendar(site: Site) -> None:
    """/events/YEAR/MONTH for every month there ever was or will be."""
    async def month(request: web.Request) -> web.Response:
        found = re.fullmatch(r"/events/(\d+)/(\d+)", request.path)
        if found is None:
            return web.Response(status=404)
        year, month_ = int(found.group(1)), int(found.group(2))
        nxt = (year + month_ // 12, month_ % 12 + 1)
        links = [f"/events/{nxt[0]}/{nxt[1]}", *(f"?view={v}" for v in VIEWS)]
        return web.Response(text=html(f"{year}-{month_}", *links), content_type="text/html")

    site.fallback = month


async def test_an_infinite_calendar_is_cut_after_a_bounded_number_of_pages(
        site: Site, crawl: Any) -> None:
    """With the defaults the calendar stops well under 1,000 pages; the URLs past the limit
    get `trap:` records (it went 98,969 pages deep before)."""
    serve_calendar(site)
    records = await crawl([site.url("/events/2026/1")], concurrency=16, per_host=16)
    fetched = [r for r in records if r["status"] == 200]
    traps = [r for r in records if (r["error"] or "").startswith(
        "trap: more than --max-pattern-chain 150")]
    assert 150 < len(fetched) < 1000, len(fetched)
    assert traps and sum(site.page_hits().values()) == len(fetched)


async def test_pagination_and_numbered_pages_within_the_limit_survive(site: Site,
                                                                      crawl: Any) -> None:
    """A 150-page chain of "next" links, and 2,000 numbered pages listed from index pages,
    are crawled whole: siblings found on one page do not chain."""
    for n in range(1, 151):
        site.page(f"/blog/page/{n}", *([f"/blog/page/{n + 1}"] if n < 150 else []))
    for n in range(20):
        site.page(f"/catalog/{n}", *(f"/item/{n * 100 + i}" for i in range(100)))
    for n in range(2000):
        site.page(f"/item/{n}")
    site.page("/", "/blog/page/1", *(f"/catalog/{n}" for n in range(20)))
    records = await crawl([site.url("/")], concurrency=16, per_host=16)
    assert all(r["error"] is None for r in records), [r for r in records if r["error"]][:3]
    assert len(records) == 1 + 150 + 20 + 2000


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
