"""Property tests (hypothesis): canonical URLs and the parse function on arbitrary input."""

from __future__ import annotations

import os

import ada_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.frontier.scope import Scope
from crawler.parse.page import ParseConfig, ParseResult, parse_page
from crawler.parse.resolve import BaseResolver, resolve_link, without_fragment
from crawler.urls import BadURL, UrlRules, canonical

settings.register_profile("ci", derandomize=True, max_examples=300)
settings.register_profile("dev", max_examples=300)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
# The deadline is a hang detector (a parse stuck in a pathological case), not a speed check.
HANG = settings(deadline=10_000, suppress_health_check=[HealthCheck.too_slow])

CONFIG = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]))
URL_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
hosts = st.one_of(
    st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,12}){0,3}", fullmatch=True),
    st.from_regex(r"(0x[0-9a-f]{1,2}|[0-9]{1,10})(\.(0x[0-9a-f]{1,2}|[0-9]{1,3})){0,3}",
                  fullmatch=True),
    st.text(URL_CHARS, min_size=1, max_size=12),
    st.just("[::1]"),
)
urlish = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"),
    st.sampled_from(["http", "https", "HTTP", "ftp", "mailto", ""]),
    hosts,
    st.sampled_from(["", ":80", ":443", ":8080", ":99999", ":x"]),
    st.text(URL_CHARS, max_size=40).map(lambda p: "/" + p),
    st.one_of(st.just(""), st.text(URL_CHARS, max_size=30).map(lambda q: "?" + q)),
    st.one_of(st.just(""), st.text(URL_CHARS, max_size=10).map(lambda f: "#" + f)),
)
RULES = st.builds(UrlRules, st.sampled_from([(), ("utm_*", "sessionid")]), st.booleans())


def _canonical_or_none(raw: str, base: str | None, rules: UrlRules) -> str | None:
    try:
        return canonical(raw, base, rules)
    except BadURL:
        return None


@given(st.one_of(urlish, st.text(URL_CHARS, max_size=60)), RULES)
def test_canonical_never_raises_and_is_idempotent(raw: str, rules: UrlRules) -> None:
    """canonical() raises nothing but BadURL; its output is an http(s) URL that parses and that
    canonical() leaves unchanged."""
    result = _canonical_or_none(raw, None, rules)
    if result is None:
        return
    assert result.startswith(("http://", "https://"))
    assert ada_url.check_url(result)
    assert "#" not in result
    assert canonical(result, None, rules) == result


@given(st.text(URL_CHARS, max_size=60), urlish, RULES)
def test_relative_resolution_never_raises(raw: str, base: str, rules: UrlRules) -> None:
    """Resolving any string against any base gives BadURL or an idempotent canonical URL."""
    absolute_base = _canonical_or_none(base, None, rules)
    if absolute_base is None:
        return
    result = _canonical_or_none(raw, absolute_base, rules)
    if result is not None:
        assert canonical(result, None, rules) == result


@HANG
@given(st.binary(max_size=20_000), st.sampled_from([None, "text/html",
                                                    "text/html; charset=utf-16",
                                                    "text/html; charset=nonsense"]))
def test_parse_never_raises_on_arbitrary_bytes(body: bytes, content_type: str | None) -> None:
    """Any bytes, with any declared charset, parse to a result."""
    result = parse_page("http://a.com/", body, content_type, CONFIG)
    assert isinstance(result, ParseResult)
    assert all(link.startswith(("http://", "https://")) for link in result.links)


tags = st.sampled_from(["div", "a href='/x'", "b", "i", "table", "tr", "td", "select",
                        "option", "p", "li", "ul", "base href='//evil/'", "title",
                        "meta http-equiv=refresh content='0;url=/r'", "script", "!--"])
markup = st.lists(st.one_of(tags.map(lambda t: f"<{t}>"),
                            tags.map(lambda t: f"</{t.split()[0]}>"),
                            st.text(URL_CHARS, max_size=8)), max_size=3000)


@HANG
@given(markup, st.integers(min_value=0, max_value=5000))
def test_parse_never_raises_on_hostile_markup(parts: list[str], nesting: int) -> None:
    """Random tag soup, plus up to 5,000 levels of nesting, parses to a result."""
    body = ("<div>" * nesting + "".join(parts)).encode()
    assert isinstance(parse_page("http://a.com/", body, "text/html", CONFIG), ParseResult)


segment = st.one_of(st.from_regex(r"[A-Za-z0-9._~%:?#@!$&'()*+,;=\\ -]{0,8}", fullmatch=True),
                    st.sampled_from([".", "..", "", "a.html", "x:y", "%2e", ".%2E"]))
links = st.builds(lambda lead, parts, tail: lead + "/".join(parts) + tail,
                  st.sampled_from(["", "/", "./", "../", "../../", "//", "?", "#", " "]),
                  st.lists(segment, max_size=6),
                  st.sampled_from(["", "#frag", "#a(b,c)", "?", "?a=1&utm_x=2", "?b=2&a=1#f",
                                   "?q='x'", "?x;y", "\t", " "]))
bases = st.sampled_from(["http://a.com/", "http://a.com/dir/page.html", "https://a.com:8443/x/",
                         "http://a.com/d/p?q=1", "http://[::1]/a/b", "http://a.com/d/?x",
                         "http://a.com/a/b/c/d.html", "http://a.com//x//y",
                         "http://a.com/%7Bx%7D/p;v=1"])


@settings(max_examples=1500)
@given(links, bases, RULES)
def test_fast_link_resolution_equals_the_full_parser(raw: str, base: str,
                                                      rules: UrlRules) -> None:
    """resolve_link (with its fast path for the links real pages are made of: relative paths,
    dot segments, queries, fragments) gives what canonical() gives."""
    expected = _canonical_or_none(raw, base, rules)
    try:
        got: str | None = resolve_link(raw, base, rules)
    except BadURL:
        got = None
    assert got == expected


@settings(max_examples=1500)
@given(links, bases, RULES)
def test_a_link_without_its_fragment_names_the_same_url(raw: str, base: str,
                                                        rules: UrlRules) -> None:
    """The parser resolves each link once whatever its fragment: without_fragment(raw)
    resolves to what raw does ("" to the page itself, as "#x" does)."""
    if not raw:
        return
    expected = _canonical_or_none(raw, base, rules)
    try:
        got: str | None = BaseResolver(base, rules).resolve(without_fragment(raw))
    except BadURL:
        got = None
    assert got == expected
