"""Unit: the pure parse function that runs in the parse workers."""

from __future__ import annotations

from crawler.frontier.scope import Scope
from crawler.frontier.traps import TrapLimits
from crawler.parse.page import ParseConfig, is_html, parse_page
from crawler.urls import UrlRules, fingerprint

SCOPE = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]))


def test_title_links_and_scope() -> None:
    """Title whitespace folds; links are canonical, deduped, in order; only in-scope followed."""
    body = (b"<title>  Hello\n  World </title><a href='x#1'>1</a><a href='x'>2</a>"
            b"<a href='http://b.com/'>3</a><a href='mailto:q@a.com'>4</a>"
            b"<area href='/map'><iframe src='//a.com/frame'></iframe><a>no href</a>")
    result = parse_page("http://a.com/dir/", body, "text/html", SCOPE)
    assert result.title == "Hello World"
    assert result.links == ["http://a.com/dir/x", "http://b.com/", "http://a.com/map",
                            "http://a.com/frame"]
    assert [u for u, _ in result.follow] == ["http://a.com/dir/x", "http://a.com/map",
                                             "http://a.com/frame"]
    assert result.follow[0][1] == fingerprint("http://a.com/dir/x")
    assert result.links_found == 4


def test_links_remembered_from_earlier_pages_follow_the_current_rules() -> None:
    """The parser remembers links resolved on earlier pages of the same directory, but a
    change of URL rules or trap limits starts it over: the same page parsed under other rules
    gives the links those rules give."""
    body = b"<a href='a.html?utm_x=1&b=2'>a</a><a href='a/b/c/d/e/f.html'>deep</a>"
    plain = ParseConfig(SCOPE.scope, UrlRules(strip_params=()))
    strict = ParseConfig(SCOPE.scope, UrlRules(strip_params=("utm_*",)),
                         traps=TrapLimits(max_path_segments=4))
    first = parse_page("http://a.com/m/", body, "text/html", plain)
    second = parse_page("http://a.com/m/p.html", body, "text/html", strict)
    again = parse_page("http://a.com/m/q.html", body, "text/html", plain)
    assert first.links == again.links == ["http://a.com/m/a.html?utm_x=1&b=2",
                                          "http://a.com/m/a/b/c/d/e/f.html"]
    assert second.links == ["http://a.com/m/a.html?b=2", "http://a.com/m/a/b/c/d/e/f.html"]
    assert [why for _, _, why in second.pruned] == [
        "trap: more than 4 path segments"]
    assert len(again.follow) == 2 and not again.pruned


def test_base_href_changes_resolution() -> None:
    """<base href> is the base for relative links."""
    body = b"<head><base href='/other/'></head><a href='p'>p</a>"
    assert parse_page("http://a.com/dir/", body, "text/html", SCOPE).links == [
        "http://a.com/other/p"]


def test_links_can_be_left_out_of_the_result() -> None:
    """keep_links=False still counts and follows links but returns no list."""
    config = ParseConfig(SCOPE.scope, keep_links=False)
    result = parse_page("http://a.com/", b"<a href='/x'>", "text/html", config)
    assert result.links == [] and result.links_found == 1 and len(result.follow) == 1


def test_charset_from_bom_header_meta_then_detection() -> None:
    """A BOM wins, then the header charset, then a <meta charset>, then detection."""
    def title(body: bytes, content_type: str | None) -> str | None:
        return parse_page("http://a.com/", body, content_type, ParseConfig(SCOPE.scope)).title

    latin = "<title>Café</title>".encode("latin-1")
    assert title(latin, "text/html; charset=ISO-8859-1") == "Café"
    assert title(b"<meta charset='latin-1'>" + latin, "text/html") == "Café"
    assert title("\ufeff<title>Café</title>".encode(), "text/html; charset=latin-1") == "Café"
    cyrillic = ("<title>Привет</title><p>" + "Привет, как дела? Это страница на русском языке. "
                * 20).encode("cp1251")
    assert title(cyrillic, "text/html; charset=bogus-charset") == "Привет"
    assert title(cyrillic, None) == "Привет"


def test_lying_charset_never_stops_link_extraction() -> None:
    """Bytes that contradict the declared charset still yield their links."""
    body = "<title>Café</title><a href='/é'>x</a><a href='/ok'>y</a>".encode("latin-1")
    result = parse_page("http://a.com/", body, "text/html; charset=utf-8", SCOPE)
    assert "http://a.com/ok" in result.links and len(result.links) == 2


def test_garbage_bytes_do_not_raise() -> None:
    """Arbitrary bytes parse to a result, never an exception."""
    result = parse_page("http://a.com/", bytes(range(256)) * 40, "text/html", SCOPE)
    assert result.links == []


def test_html_media_types() -> None:
    """text/html and XHTML are parsed, with or without parameters; others are not."""
    assert is_html("text/html; charset=utf-8") and is_html("application/xhtml+xml")
    assert not is_html("application/pdf") and not is_html(None) and not is_html("")


def test_deep_nesting_is_cut_and_parses_fast() -> None:
    """10 MB of nested tags is cut where nesting passes the limit (lexbor is quadratic in
    depth), while a flat page of as many tags is parsed whole."""
    nested = parse_page("http://a.com/", b"<a href='/x'>" + b"<div>" * 2_000_000, "text/html",
                        SCOPE)
    assert nested.cut_at_nesting and nested.links == ["http://a.com/x"]
    flat = parse_page("http://a.com/", b"<ul>" + b"<li><a href='/x'>x</a>" * 20_000 +
                      b"<a href='/last'>", "text/html", SCOPE)
    assert not flat.cut_at_nesting and "http://a.com/last" in flat.links
