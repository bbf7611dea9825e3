"""URL helpers: the canonical form that is the dedup key, its 64-bit fingerprint, its origin.

Parsing and resolution follow the WHATWG URL standard (ada-url, the parser Node.js uses): lowercase
scheme and host, IDNA, IPv4 forms such as `0x7f.1` and `2130706433`, default ports dropped, dot
segments resolved. On top of that the canonical form normalises percent-encoding (unreserved
characters decoded, hex digits upper case), drops the fragment, drops tracking parameters and can
sort the query.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import ada_url

FETCHABLE_SCHEMES = ("http:", "https:")
DEFAULT_STRIP_PARAMS: tuple[str, ...] = (
    "utm_*", "gclid", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "mc_cid",
    "mc_eid", "_hsenc", "_hsmi", "igshid",  # tracking
    "jsessionid", "phpsessid", "aspsessionid*", "sessionid", "session_id",  # session ids
)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid)=[^/?]*", re.IGNORECASE)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class BadURL(ValueError):
    """A string that is not an absolute http(s) URL we can fetch."""


@dataclass(frozen=True, slots=True)
class UrlRules:
    """The optional parts of canonicalisation: query parameters to drop (globs), query order."""

    strip_params: tuple[str, ...] = DEFAULT_STRIP_PARAMS
    sort_query: bool = False


DEFAULT_RULES = UrlRules()


@lru_cache(maxsize=16)
def _strip_pattern(globs: tuple[str, ...]) -> re.Pattern[str] | None:
    if not globs:
        return None
    return re.compile("|".join(fnmatch.translate(g) for g in globs), re.IGNORECASE)


def _normalise_percent(match: re.Match[str]) -> str:
    code = int(match.group()[1:], 16)
    return chr(code) if code in _UNRESERVED else match.group().upper()


def normalise_percent_encoding(text: str) -> str:
    """Decode percent-escapes of unreserved characters (%7E -> ~), upper-case the others' hex."""
    return _PERCENT.sub(_normalise_percent, text) if "%" in text else text


def _clean_query(query: str, rules: UrlRules) -> str:
    """The query (without "?") less stripped parameters, sorted when asked."""
    pattern = _strip_pattern(rules.strip_params)
    params = query.split("&")
    if pattern is not None:
        params = [p for p in params if not pattern.fullmatch(p.split("=", 1)[0])]
    if rules.sort_query:
        params.sort()
    return "&".join(params)


def plain_authority(href: str) -> str:
    """`href` without credentials (user:pass@: they neither make another URL nor are sent;
    see crawler.frontier.seeds for the seeds' own) and without the host's trailing dot (example.com.
    is example.com: one host, one politeness budget)."""
    start = href.index("//") + 2
    end = href.find("/", start)
    authority = href[start:end] if end >= 0 else href[start:]
    at = authority.rfind("@")
    host = authority[at + 1:]
    colon = host.rfind(":") if not host.endswith("]") else -1
    name, port = (host[:colon], host[colon:]) if colon >= 0 else (host, "")
    if at < 0 and not name.endswith("."):
        return href
    plain = (name.rstrip(".") or name) + port
    return href[:start] + plain + (href[end:] if end >= 0 else "")


def credentials_of(url: str) -> tuple[str, str] | None:
    """(user, password) written in an http(s) URL, percent-decoded, or None."""
    try:
        parsed = ada_url.URL(url)
    except ValueError:
        return None
    if not parsed.username and not parsed.password:
        return None
    return (unquote(parsed.username), unquote(parsed.password))


def canonical(url: str, base: str | None = None, rules: UrlRules = DEFAULT_RULES) -> str:
    """The canonical spelling of `url` (resolved against the absolute URL `base`), or BadURL."""
    try:
        href = ada_url.join_url(base, url) if base is not None else ada_url.normalize_url(url)
    except ValueError:
        raise BadURL(f"cannot parse URL {url!r}") from None
    if not href.startswith(FETCHABLE_SCHEMES):
        raise BadURL(f"not an http(s) URL: {url!r}")
    href = plain_authority(href)
    href = normalise_percent_encoding(href.split("#", 1)[0])
    if ";" in href and rules.strip_params:
        path, mark, query = href.partition("?")
        href = _PATH_SESSION.sub("", path) + mark + query
    if "?" in href and (rules.strip_params or rules.sort_query):
        path, query = href.split("?", 1)
        href = finish_query(path, query, rules)
    return href


def finish_query(path: str, query: str, rules: UrlRules) -> str:
    """`path` ("scheme://host/path") with `query` cleaned by the rules, or without a "?" when
    nothing is left of it."""
    query = _clean_query(query, rules)
    return f"{path}?{query}" if query else path


def fingerprint(canonical_url: str) -> int:
    """An exact 64-bit fingerprint of a canonical URL: the seen-set stores these, not strings."""
    return int.from_bytes(hashlib.blake2b(canonical_url.encode(), digest_size=8).digest(), "big")


def fp_to_sql(fp: int) -> int:
    """A fingerprint as SQLite's signed 64-bit INTEGER."""
    return fp - (1 << 64) if fp >= 1 << 63 else fp


def fp_from_sql(value: int) -> int:
    return value & ((1 << 64) - 1)


def origin(canonical_url: str) -> str:
    """scheme://host[:port] of a canonical URL, without credentials: the unit robots.txt and
    scope are per (RFC 9309); politeness is per host (host_of)."""
    start = canonical_url.find("//") + 2
    end = canonical_url.find("/", start)
    authority = canonical_url[start:end] if end >= 0 else canonical_url[start:]
    at = authority.rfind("@")
    return canonical_url[:start] + (authority[at + 1:] if at >= 0 else authority)


def host_of(canonical_url: str) -> str:
    """The host of a canonical URL: no scheme, credentials or port. The politeness key, so it
    is taken per link: a few string searches, no split of the whole URL."""
    start = canonical_url.find("//") + 2
    end = canonical_url.find("/", start)
    authority = canonical_url[start:end] if end >= 0 else canonical_url[start:]
    at = authority.rfind("@")
    if at >= 0:
        authority = authority[at + 1:]
    if authority.startswith("["):
        return authority[: authority.index("]") + 1]
    colon = authority.find(":")
    return authority[:colon] if colon >= 0 else authority
