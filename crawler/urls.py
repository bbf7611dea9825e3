"""URL helpers: the canonical form that is the dedup key, its 64-bit fingerprint, its origin."""

from __future__ import annotations

import hashlib

from yarl import URL

FETCHABLE_SCHEMES = frozenset({"http", "https"})


class BadURL(ValueError):
    """A string that is not an absolute http(s) URL we can fetch."""


def canonical(url: str | URL, base: URL | None = None) -> str:
    """The canonical spelling of `url` (resolved against `base`), or BadURL.

    Lowercase scheme and host, default port dropped, dot segments resolved, percent-encoding
    normalised, empty path as "/", fragment dropped.
    """
    try:
        parsed = url if isinstance(url, URL) else URL(url.strip())
        if base is not None:
            parsed = base.join(parsed)
    except (ValueError, TypeError) as exc:
        raise BadURL(f"cannot parse URL {str(url)!r}: {exc}") from None
    if parsed.scheme not in FETCHABLE_SCHEMES:
        raise BadURL(f"not an http(s) URL: {str(url)!r}")
    if not parsed.host:
        raise BadURL(f"URL has no host: {str(url)!r}")
    if parsed.fragment or parsed.raw_fragment:
        parsed = parsed.with_fragment(None)
    try:
        text = str(parsed)
    except (ValueError, UnicodeError) as exc:
        raise BadURL(f"cannot normalise URL {str(url)!r}: {exc}") from None
    # yarl spells an empty path as nothing ("http://a.com"); the canonical form has "/"
    return text if text.find("/", text.find("//") + 2) >= 0 else text + "/"


def fingerprint(canonical_url: str) -> int:
    """An exact 64-bit fingerprint of a canonical URL: the seen-set stores these, not strings."""
    return int.from_bytes(hashlib.blake2b(canonical_url.encode(), digest_size=8).digest(), "big")


def origin(canonical_url: str) -> str:
    """scheme://host[:port] of a canonical URL: the unit of politeness and of host scope."""
    end = canonical_url.find("/", canonical_url.find("//") + 2)
    return canonical_url if end < 0 else canonical_url[:end]
