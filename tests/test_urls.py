"""Unit: canonical URLs (the dedup key), fingerprints, origins and scope."""

from __future__ import annotations

import pytest

from crawler.frontier.scope import Scope
from crawler.urls import BadURL, canonical, fingerprint, origin


@pytest.mark.parametrize(("raw", "expected"), [
    ("HTTP://Example.COM:80/a/../b/./c?x=1#frag", "http://example.com/b/c?x=1"),
    ("https://example.com:443", "https://example.com/"),
    ("http://example.com:8080", "http://example.com:8080/"),
    ("http://example.com?q=1", "http://example.com/?q=1"),
    ("http://example.com/%7euser/a%2fb", "http://example.com/~user/a%2Fb"),
    ("http://example.com/a b", "http://example.com/a%20b"),
    ("http://example.com/ü", "http://example.com/%C3%BC"),
    ("  http://example.com/x  ", "http://example.com/x"),
])
def test_canonical_form(raw: str, expected: str) -> None:
    """Case, default ports, dot segments, percent-encoding, empty path and fragment normalise."""
    assert canonical(raw) == expected


def test_canonical_is_idempotent() -> None:
    """Canonicalising a canonical URL changes nothing."""
    for raw in ("HTTP://A.com:80/x/../y#z", "http://a.com/%7e?b=%20"):
        once = canonical(raw)
        assert canonical(once) == once


def test_relative_links_resolve_against_base() -> None:
    """Relative, root-relative and scheme-relative links resolve against the page URL."""
    base = "http://a.com/dir/page.html"
    assert canonical("../x/./y?z#f", base) == "http://a.com/x/y?z"
    assert canonical("//b.com/p", base) == "http://b.com/p"
    assert canonical("?q", base) == "http://a.com/dir/page.html?q"


@pytest.mark.parametrize("raw", ["mailto:a@b.c", "javascript:void(0)", "ftp://a.com/",
                                 "http://[::1", "http://", "not a url", ""])
def test_unfetchable_urls_raise_bad_url(raw: str) -> None:
    """Non-http(s), hostless and unparseable URLs raise BadURL, never another error."""
    with pytest.raises(BadURL):
        canonical(raw)


def test_fingerprint_is_stable_64_bit() -> None:
    """Fingerprints are deterministic 64-bit integers that differ for different URLs."""
    a, b = fingerprint("http://a.com/"), fingerprint("http://a.com/x")
    assert a == fingerprint("http://a.com/") and a != b
    assert 0 <= a < 2**64


def test_origin_is_scheme_host_port() -> None:
    """The origin is everything before the path."""
    assert origin("http://a.com:8080/x/y?z") == "http://a.com:8080"
    assert origin("https://a.com/") == "https://a.com"


def test_host_scope_needs_same_scheme_host_and_port() -> None:
    """Host scope admits only the seeds' exact origins."""
    scope = Scope.for_seeds("host", ["http://a.com/start"])
    assert scope.allows("http://a.com/other")
    assert not scope.allows("https://a.com/other")
    assert not scope.allows("http://a.com:81/")
    assert not scope.allows("http://b.a.com/")


def test_domain_scope_takes_subdomains_and_drops_www() -> None:
    """Domain scope admits the seed's domain (less www.) and its subdomains, on any scheme."""
    scope = Scope.for_seeds("domain", ["http://www.a.com/"])
    assert scope.allows("https://a.com/x") and scope.allows("http://docs.a.com:8080/")
    assert not scope.allows("http://nota.com/") and not scope.allows("http://a.com.evil.org/")


def test_allow_and_deny_patterns() -> None:
    """Deny wins over allow; with allow patterns, a URL must match one."""
    scope = Scope.for_seeds("any", ["http://a.com/"], allow=("/docs/",), deny=(r"\.pdf$",))
    assert scope.allows("http://b.com/docs/x")
    assert not scope.allows("http://b.com/docs/x.pdf")
    assert not scope.allows("http://b.com/blog/")


def test_widened_scope_adds_hosts() -> None:
    """A widened scope admits the new host and still admits the old ones."""
    scope = Scope.for_seeds("host", ["http://a.com/"]).widened(["https://www.a.com/"])
    assert scope.allows("https://www.a.com/x") and scope.allows("http://a.com/y")


def test_session_ids_are_stripped_from_query_and_path() -> None:
    """Session-id parameters and ;jsessionid= path parameters are not part of the URL."""
    assert canonical("http://a.com/p;jsessionid=ABC123?x=1&PHPSESSID=9") == "http://a.com/p?x=1"
    assert canonical("http://a.com/p?sessionid=1&ASPSESSIONIDQ=2") == "http://a.com/p"
    assert canonical("http://a.com/p;v=1") == "http://a.com/p;v=1"
