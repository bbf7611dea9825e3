"""Fuzzing (hypothesis) the parsers at the crawl's boundaries with arbitrary bytes: the HTML
parse path with every extraction on, the nesting guard, robots.txt and the seeds reader.
Nothing raises past its boundary, and each call ends in bounded time (the deadline is a hang
detector, not a speed check)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from crawler.errors import SeedsError
from crawler.extract.rules import compile_rules
from crawler.fetch.robots import RobotsRules
from crawler.frontier.scope import Scope
from crawler.frontier.seeds import parse_seeds
from crawler.parse.nesting import limit_nesting
from crawler.parse.page import PageMeta, ParseConfig, ParseResult, parse_page
from tests.extractors import headline, quotes
from tests.test_properties import HANG

RULES = compile_rules({"rule": [{"match": "a", "fields": {
    "t": "title", "h": {"css": "h1, h2", "all": True}, "n": {"css": "p", "regex": "([0-9]+)",
                                                             "type": "int"},
    "u": {"css": "a", "attr": "href", "all": True}, "x": {"css": "div", "html": True},
    "o": {"css": "li", "all": True, "fields": {"k": "b", "v": {"css": "i", "attr": "id"}}}}}]})
EXTRACTING = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]), extract=RULES)
HTMLISH = st.lists(st.one_of(
    st.sampled_from(["<a href='", "'>", "<p>", "</p>", "<li><b>", "<i id=1>", "<div>",
                     "</div>", "<title>", "<h1>", "<!--", "-->", "<script>", "</script>",
                     "<svg>", "<base href='", "<meta name=robots content=nofollow>"]),
    st.text(max_size=20)), max_size=400).map("".join)
BYTES = st.one_of(st.binary(max_size=8000), HTMLISH.map(lambda t: t.encode("utf-8", "replace")))


@HANG
@given(BYTES, st.sampled_from([headline, quotes, None]))
def test_the_parse_path_with_extraction_never_raises(body: bytes, function) -> None:
    """Rules and a user's function on any bytes: a result, at worst with extract_error."""
    config = EXTRACTING if function is None else ParseConfig(
        EXTRACTING.scope, extract=RULES, extractor=function)
    result = parse_page("http://a.com/x", body, "text/html", config, PageMeta())
    assert isinstance(result, ParseResult)
    assert result.extract_error is None or result.extract_error.startswith("extract failed")


@HANG
@given(BYTES, st.integers(min_value=0, max_value=50))
def test_the_nesting_guard_never_raises_and_only_cuts(body: bytes, limit: int) -> None:
    kept, cut = limit_nesting(body, limit)
    assert body.startswith(kept) and (cut or kept == body)


ROBOTS_LINES = st.lists(st.one_of(
    st.sampled_from(["User-agent: *", "User-agent: crawler/1.0", "Disallow: /", "Allow: /a",
                     "Disallow: /*.php$", "Crawl-delay: 5", "Sitemap: http://a.com/s",
                     "user-agent crawler", "\ufeff", "# c", ""]),
    st.text(max_size=30)), max_size=60).map("\n".join)


@HANG
@given(st.one_of(st.binary(max_size=4000), ROBOTS_LINES.map(str.encode)),
       st.text(max_size=20))
def test_robots_txt_never_raises(body: bytes, path: str) -> None:
    rules = RobotsRules.parse(body, 0.0)
    url = "http://a.com/" + re.sub(r"[^A-Za-z0-9/._-]", "", path)
    assert isinstance(rules.allows(url, "crawler"), bool)
    delay = rules.crawl_delay("crawler")
    assert delay is None or isinstance(delay, float)


@HANG
@given(st.one_of(st.binary(max_size=4000),
                 st.lists(st.sampled_from(["http://a.com/", "https://b.org/x # c", "nope",
                                           "# comment", "", "\x00", "http://[::1", "ftp://x"]),
                          max_size=30).map(lambda lines: "\n".join(lines).encode())))
def test_the_seeds_reader_never_raises(data: bytes) -> None:
    """Seeds or one SeedsError (no usable URL), never anything else."""
    try:
        seeds = parse_seeds(data, "seeds.txt")
    except SeedsError:
        return
    assert seeds.urls and all(url.startswith(("http://", "https://")) for url in seeds.urls)
