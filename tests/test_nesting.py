"""The nesting guard: linear on any input, exact about what nests in an HTML parser, and only
cutting pages that really nest too deep; pages that could parse slowly never run on the loop."""

from __future__ import annotations

import os
from typing import Any

import pytest

from crawler.frontier.scope import Scope
from crawler.parse.nesting import CHECK_ABOVE, MAX_NESTING, limit_nesting
from crawler.parse.page import ParseConfig, ParseResult, parse_page
from crawler.parse.pool import ParsePool
from tests.site import Site

CONFIG = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]))
LINKS = "".join(f"<a href='/l{i}'>{i}</a>" for i in range(100))
PADDING = "<br>" * (CHECK_ABOVE + 1)  # enough tags for the guard to look at the page


def depth_page(depth: int, tag: str = "div") -> bytes:
    return (PADDING + f"<{tag}>" * depth + "<a href='/deep'>x</a>" + f"</{tag}>" * depth
            ).encode()


@pytest.mark.timeout(30)
def test_unclosed_tags_take_linear_time() -> None:
    """250 KB of '<a<a<a' with no '>' once took minutes in the old regex (quadratic)."""
    page, cut = limit_nesting(b"<a" * 125_000)
    assert not cut and len(page) == 250_000
    page, cut = limit_nesting(b'<a x="' * 60_000)
    assert not cut


@pytest.mark.parametrize("html", [
    "<script>" + "var s='<div class=c>';" * 20_000 + "</script>",
    "<!--" + "<span>" * 20_000 + "-->",
    "<style>" + "a<b{}" * 20_000 + "</style>",
    "<a href=x>" * 20_000,
    "<p>" * 20_000 + "<li>" * 20_000,
    "<svg>" + "<path d='M0'/>" * 20_000 + "</svg>",
    "<div><img src=x><br><input></div>" * 20_000,
])
def test_what_does_not_nest_is_not_cut(html: str) -> None:
    """Tags inside scripts, styles and comments, unclosed <a>, <p> and <li>, void elements and
    self-closing svg children do not nest: all 100 links of the page are kept."""
    parsed = parse_page("http://a.com/", (html + LINKS).encode(), "text/html", CONFIG)
    assert not parsed.cut_at_nesting
    assert len(parsed.links) >= 100


def test_the_limit_is_exact() -> None:
    """MAX_NESTING levels parse whole; one more is cut before the deepest element."""
    assert limit_nesting(depth_page(MAX_NESTING))[1] is False
    page, cut = limit_nesting(depth_page(MAX_NESTING + 1))
    assert cut and b"/deep" not in page


@pytest.mark.parametrize("tag", ["div", "span", "DIV", "x/", "span/", "b"])
def test_deep_pages_are_cut(tag: str) -> None:
    """Nesting elements, in any case, and self-closing tags outside svg (HTML ignores the
    slash) are cut at the limit."""
    parsed = parse_page("http://a.com/", b"<a href='/first'>f</a>" + f"<{tag}>".encode() * 50_000,
                        "text/html", CONFIG)
    assert parsed.cut_at_nesting and parsed.links == ["http://a.com/first"]


def _pid_parse(url: str, body: bytes, content_type: str | None,
               config: ParseConfig) -> ParseResult:
    return ParseResult(title=str(os.getpid()))


@pytest.mark.parametrize("mode", ["inline", "thread", "auto"])
async def test_pages_that_could_parse_slowly_go_to_the_pool(mode: str) -> None:
    """A page with many tags is parsed in a worker process under the deadline, whatever the
    mode; a small page stays where the mode says."""
    async with ParsePool(mode, workers=1, parse_fn=_pid_parse) as pool:
        small = await pool.parse("http://a.com/", b"<p>hi", "text/html", CONFIG)
        big = await pool.parse("http://a.com/", b"<b>" * 5000, "text/html", CONFIG)
    assert big.title != str(os.getpid())
    if mode == "inline":
        assert small.title == str(os.getpid())


async def test_a_hostile_page_does_not_freeze_the_crawl(site: Site, crawl: Any) -> None:
    """Inline parsing: a page of unclosed tags and a deeply nested one beside ordinary pages;
    every page gets its record and the ordinary pages their links."""
    site.page("/", "/unclosed", "/deep", "/a")
    site.add("/unclosed", b"<a" * 60_000)
    site.add("/deep", b"<a href='/b'>b</a>" + b"<div>" * 200_000)
    site.page("/a", "/b")
    site.page("/b")
    records = {r["url"]: r for r in await crawl([site.url("/")], parse_mode="inline")}
    assert records[site.url("/deep")]["truncated"] is True
    assert records[site.url("/unclosed")]["error"] is None
    assert site.page_hits()["/b"] == 1 and len(records) == 5


def test_stray_end_tags_first_do_not_hide_deep_nesting_after() -> None:
    """A page that opens with 50,000 stray end tags, then nests 5,000 deep, is still cut at
    the limit: the depth never goes below zero, so the end tags cannot pay for the nesting."""
    page = b"</div>" * 50_000 + b"<div>" * 5_000 + b"x"
    cut, truncated = limit_nesting(page, 1024)
    assert truncated
    assert cut.count(b"<div>") == 1024
