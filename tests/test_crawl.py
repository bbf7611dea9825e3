"""Integration: crawls of local aiohttp sites on 127.0.0.1, asserting on records and server logs."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import by_url
from tests.crash_hooks import crash_on_poison
from tests.site import Site


async def test_follows_links_and_records_every_page_once(site: Site, crawl) -> None:
    """Every page reachable from the seed is fetched once and has exactly one record."""
    site.page("/", "/a", "/b", title="Home")
    site.page("/a", "/b", "/c")
    site.page("/b", "/")
    site.page("/c")
    records = by_url(await crawl([site.url("/")]))
    assert set(records) == {site.url(p) for p in ("/", "/a", "/b", "/c")}
    assert records[site.url("/")]["title"] == "Home"
    assert records[site.url("/")]["links_found"] == 2
    assert records[site.url("/a")]["depth"] == 1 and records[site.url("/c")]["depth"] == 2
    assert records[site.url("/c")]["referrer"] == site.url("/a")
    assert all(n == 1 for n in site.hits.values())  # robots.txt included: fetched once


async def test_depth_limit_stops_following(site: Site, crawl) -> None:
    """--max-depth 1 fetches the seed and its links; the next level is recorded, not fetched."""
    site.page("/", "/1")
    site.page("/1", "/2")
    site.page("/2", "/3")
    records = by_url(await crawl([site.url("/")], max_depth=1))
    assert set(records) == {site.url("/"), site.url("/1"), site.url("/2")}
    assert records[site.url("/2")]["error"] == "trap: deeper than --max-depth 1"
    assert records[site.url("/2")]["status"] is None and records[site.url("/2")]["depth"] == 2
    assert "/2" not in site.hits


async def test_page_limit_caps_records(site: Site, crawl) -> None:
    """--max-pages N yields exactly N records, and the server sees exactly N requests."""
    site.page("/", *[f"/p{i}" for i in range(50)])
    for i in range(50):
        site.page(f"/p{i}")
    records = await crawl([site.url("/")], max_pages=10)
    assert len(records) == 10
    assert sum(site.page_hits().values()) == 10


async def test_equivalent_spellings_are_fetched_once(site: Site, crawl) -> None:
    """Fragments, dot segments, default-port and case variants of one URL cost one fetch."""
    port = site.base.rsplit(":", 1)[1]
    site.page("/", "/x", "/x#top", "./x", "/y/../x", f"HTTP://127.0.0.1:{port}/x",
              "/%7Euser", "/~user", "/q?a=1", "/q?a=1#f")
    site.page("/x")
    site.page("/~user")
    site.page("/q")
    records = by_url(await crawl([site.url("/")]))
    assert set(records) == {site.url("/"), site.url("/x"), site.url("/~user"), site.url("/q?a=1")}
    assert site.hits["/x"] == 1 and site.hits["/~user"] == 1


async def test_host_scope_records_outlinks_but_never_fetches_them(two_sites, crawl) -> None:
    """Links to another host are in the record's links, and that host receives no request."""
    home, other = two_sites
    home.page("/", other.url("/elsewhere"), "/in")
    home.page("/in")
    other.page("/elsewhere")
    records = by_url(await crawl([home.url("/")]))
    assert set(records) == {home.url("/"), home.url("/in")}
    assert other.url("/elsewhere") in records[home.url("/")]["links"]
    assert other.log == []


async def test_scope_any_follows_other_hosts(two_sites, crawl) -> None:
    """--scope any fetches links on other hosts too."""
    home, other = two_sites
    home.page("/", other.url("/elsewhere"))
    other.page("/elsewhere")
    records = by_url(await crawl([home.url("/")], scope="any"))
    assert other.url("/elsewhere") in records
    assert other.hits["/elsewhere"] == 1


async def test_allow_and_deny_patterns_filter_links(site: Site, crawl) -> None:
    """--deny drops matching URLs; --allow keeps only matching ones (the seed is always tried)."""
    site.page("/", "/docs/a", "/docs/private/b", "/blog/c")
    for path in ("/docs/a", "/docs/private/b", "/blog/c"):
        site.page(path)
    records = by_url(await crawl([site.url("/")], allow=["/docs/"], deny=["/private/"]))
    assert set(records) == {site.url("/"), site.url("/docs/a")}
    assert "/blog/c" not in site.hits and "/docs/private/b" not in site.hits


async def test_non_html_is_recorded_but_not_parsed(site: Site, crawl) -> None:
    """A PDF or JSON response gets a record with its type and size, and its body yields no links."""
    site.page("/", "/doc.pdf", "/data.json")
    pdf_body = b"%PDF-1.4 <a href='/hidden'>"
    site.add("/doc.pdf", pdf_body, content_type="application/pdf")
    site.add("/data.json", b'{"a": "<a href=\\"/hidden\\">"}', content_type="application/json")
    site.page("/hidden")
    records = by_url(await crawl([site.url("/")]))
    pdf = records[site.url("/doc.pdf")]
    assert pdf["status"] == 200 and pdf["content_type"] == "application/pdf"
    assert pdf["content_length"] == len(pdf_body)
    assert pdf["links_found"] == 0 and pdf["title"] is None
    assert "/hidden" not in site.hits


async def test_error_statuses_are_recorded_and_not_followed(site: Site, crawl) -> None:
    """404 and 500 answers get records with their status; links in their bodies are not followed."""
    site.page("/", "/missing", "/broken")
    site.add("/broken", b'<a href="/from-error">x</a>', status=500)
    site.page("/from-error")
    records = by_url(await crawl([site.url("/")]))
    assert records[site.url("/missing")]["status"] == 404
    assert records[site.url("/broken")]["status"] == 500
    assert records[site.url("/broken")]["error"] is None
    assert "/from-error" not in site.hits


async def test_redirects_are_recorded_hop_by_hop(site: Site, crawl) -> None:
    """Each redirect hop has its own record pointing at the next; the target is fetched once."""
    site.page("/", "/old", "/new")
    site.redirect("/old", "/older", status=301)
    site.redirect("/older", "/new", status=302)
    site.page("/new", title="New")
    records = by_url(await crawl([site.url("/")]))
    assert records[site.url("/old")]["status"] == 301
    assert records[site.url("/old")]["final_url"] == site.url("/older")
    assert records[site.url("/older")]["redirects"] == 1
    assert records[site.url("/new")]["title"] == "New"
    assert site.hits["/new"] == 1


async def test_redirect_chain_longer_than_limit_is_cut(site: Site, crawl) -> None:
    """A chain longer than --max-redirects ends in a record saying so; loops end by dedup."""
    for i in range(6):
        site.redirect(f"/r{i}", f"/r{i + 1}")
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    records = by_url(await crawl([site.url("/r0"), site.url("/loop-a")], max_redirects=3))
    assert "too many redirects" in records[site.url("/r3")]["error"]
    assert "/r4" not in site.hits
    assert site.hits["/loop-a"] == 1 and site.hits["/loop-b"] == 1


async def test_seed_redirect_to_another_host_brings_it_into_scope(two_sites, crawl) -> None:
    """A seed that redirects to another host (http -> https, www) crawls that host instead."""
    old, new = two_sites
    old.redirect("/", new.url("/"))
    new.page("/", "/inside")
    new.page("/inside")
    records = by_url(await crawl([old.url("/")]))
    assert records[new.url("/inside")]["status"] == 200


async def test_connection_failure_and_timeout_become_records(site: Site, crawl) -> None:
    """A refused connection and a response slower than --timeout each get an error record,
    after the retries; a host whose robots.txt cannot be fetched is not crawled."""
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    site.route("/slow", slow)
    site.page("/", "/slow", "http://127.0.0.1:9/refused")
    records = by_url(await crawl([site.url("/"), "http://127.0.0.1:9/refused"], timeout=0.3,
                                 retries=1))
    slow = records[site.url("/slow")]
    assert slow["error"].startswith("timeout") and slow["status"] is None
    assert slow["attempts"] == 2 and site.hits["/slow"] == 2
    refused = records["http://127.0.0.1:9/refused"]
    assert refused["error"].startswith("connection failed")  # what it is, robots.txt or not
    assert refused["attempts"] == 0
    records = by_url(await crawl(["http://127.0.0.1:9/refused"], robots="false", retries=1))
    assert records["http://127.0.0.1:9/refused"]["error"].startswith("connection failed")
    assert records["http://127.0.0.1:9/refused"]["attempts"] == 2


async def test_body_over_cap_is_truncated(site: Site, crawl) -> None:
    """A body larger than --max-body-bytes is cut at the cap and the record says truncated."""
    site.add("/big", b"x" * 100_000, content_type="application/octet-stream")
    records = by_url(await crawl([site.url("/big")], max_body_bytes=1000))
    assert records[site.url("/big")]["content_length"] == 1000
    assert records[site.url("/big")]["truncated"] is True


async def test_concurrency_is_never_exceeded_and_is_used(site: Site, crawl) -> None:
    """With --concurrency 8 the server never runs more than 8 handlers at once, and reaches 8."""
    site.delay = 0.05
    site.page("/", *[f"/p{i}" for i in range(60)])
    for i in range(60):
        site.page(f"/p{i}")
    records = await crawl([site.url("/")], concurrency=8, per_host=100)
    assert len(records) == 61
    assert site.max_active == 8


async def test_per_host_limit_holds_on_one_host(site: Site, crawl) -> None:
    """With --per-host 3 one host never sees more than 3 requests at once, and sees 3."""
    site.delay = 0.05
    site.page("/", *[f"/p{i}" for i in range(30)])
    for i in range(30):
        site.page(f"/p{i}")
    await crawl([site.url("/")], concurrency=20, per_host=3)
    assert site.max_active == 3


async def test_delay_spaces_requests_to_one_host(site: Site, crawl) -> None:
    """--delay D: the server sees consecutive requests at least D seconds apart."""
    site.page("/", "/a", "/b", "/c")
    for path in ("/a", "/b", "/c"):
        site.page(path)
    await crawl([site.url("/")], delay=0.2, per_host=4)
    gaps = site.gaps()
    assert len(gaps) == 3 and min(gaps) >= 0.2 - 0.01


@pytest.mark.parametrize("memory", ["100000", "50"])
async def test_few_thousand_pages_in_process_pool(site: Site, crawl, memory: str) -> None:
    """3,000 generated pages, parsed in the process pool, yield exactly one record each, also
    when only 50 queued URLs may stay in memory and the rest spill to disk."""
    count = 3000
    for i in range(count):
        links = [f"/p{(i * 7 + k) % count}" for k in (1, 2, 3)] + [f"/p{i // 2}"]
        site.page(f"/p{i}", *links)
    records = by_url(await crawl([site.url("/p0")], parse_mode="process", parse_workers=2,
                                 concurrency=64, per_host=64, frontier_memory=memory))
    assert len(records) == count
    assert all(r["status"] == 200 for r in records.values())
    assert max(site.hits.values()) == 1


async def test_default_sqlite_sink_holds_the_records(site: Site, crawl, tmp_path: Path) -> None:
    """The job directory's crawl.db has one row per record, links stored as JSON."""
    site.page("/", "/a")
    site.page("/a")
    records = await crawl([site.url("/")])
    with sqlite3.connect(tmp_path / "job-1" / "crawl.db") as db:
        rows = db.execute("SELECT url, status, links FROM pages ORDER BY url").fetchall()
    assert [r[0] for r in rows] == sorted(r["url"] for r in records)
    assert rows[0][2] == f'["{site.url("/a")}"]'


@pytest.mark.parametrize("keep_cookies", [True, False])
async def test_credentials_and_cookies_do_not_travel(two_sites, crawl, keep_cookies: bool
                                                     ) -> None:
    """Credentials in a seed are sent to its own origin only, never to the origin a redirect
    leads to; a cookie a server sets goes back to that server only (with --no-keep-cookies,
    to nobody)."""
    home, other = two_sites
    home.add("/", b'<a href="/next">n</a>', headers={"Set-Cookie": "session=secret; Path=/"})
    home.redirect("/next", other.url("/landing"))
    other.page("/landing")
    user_seed = home.url("/").replace("http://", "http://user:pw@")
    await crawl([user_seed], scope="any", keep_cookies=keep_cookies)
    assert other.hits["/landing"] == 1
    home_headers = dict(home.headers)
    assert home_headers["/"].get("Authorization", "").startswith("Basic ")
    assert "Cookie" not in home_headers["/"]
    assert home_headers["/next"].get("Cookie") == ("session=secret" if keep_cookies else None)
    assert all("Cookie" not in h for _, h in other.headers)
    assert all("Authorization" not in h for _, h in other.headers)


async def test_page_that_kills_its_parser_costs_only_itself(site: Site, crawl) -> None:
    """A page whose parse kills the worker is recorded as an error after the bounded attempts;
    every other page is parsed and followed, and the crawl finishes."""
    site.page("/", *[f"/p{i}" for i in range(20)], "/poison")
    for i in range(20):
        site.page(f"/p{i}", f"/q{i}")
        site.page(f"/q{i}")
    site.add("/poison", b"POISON <a href='/never'>x</a>")
    records = by_url(await crawl([site.url("/")], parse_fn=crash_on_poison,
                                 parse_mode="process", parse_workers=2, concurrency=8))
    assert records[site.url("/poison")]["error"] == "parse worker crashed on this page 3 times"
    assert len(records) == 1 + 20 + 20 + 1
    others = [r for url, r in records.items() if url != site.url("/poison")]
    assert all(r["status"] == 200 and r["error"] is None and r["title"] for r in others)


async def test_redirect_targets_get_the_url_shape_trap_checks(site: Site, crawl) -> None:
    """A Location longer than --max-url-length (or with a repeated segment) is not fetched: the
    target gets a trap record, as a link of that shape would."""
    site.page("/", "/long", "/loop")
    site.redirect("/long", "/" + "x" * 15_000)
    site.redirect("/loop", "/a/a/a/a/a")
    records = {r["url"]: r for r in await crawl([site.url("/")])}
    long_target = next(url for url in records if "#cut-" in url)  # recorded cut, not in full
    assert long_target.startswith(site.url("/xxx")) and len(long_target) < 300
    assert records[long_target]["error"] == "trap: URL longer than 2048 characters"
    assert records[site.url("/a/a/a/a/a")]["error"].startswith("trap: path segment 'a'")
    assert set(site.page_hits()) == {"/", "/long", "/loop"}
