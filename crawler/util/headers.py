"""The user's request headers (--header): `Name: value` goes to every host the crawl fetches,
`HOST Name: value` to that host only (`*.example.com` for its subdomains too). Headers the
crawler owns (Host, Content-Length, the connection's own) are refused.

A header's value can be a secret (an API key, a session): nothing here ever puts one in a
message; the WARC writer redacts every header named here (crawler.archive.warc).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.urls import host_of

# Headers the crawler or the HTTP client sets itself: a user's value would corrupt the request
# or its framing.
OWNED = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive",
                   "te", "trailer", "upgrade", "proxy-connection", "expect"})
HAS_OPTION = {"user-agent": "--user-agent"}  # robots.txt reads the product token from it
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HOST = re.compile(r"(\*\.)?[0-9A-Za-z.\-]+|\[[0-9A-Fa-f:.]+\]")  # no port: headers go by host


class BadHeader(ValueError):
    """A --header entry that is not `[HOST ]Name: value`; the message names the entry by its
    header name only (its value may be a secret)."""


@dataclass(frozen=True, slots=True)
class Header:
    host: str  # "" = every host; "example.com"; "*.example.com" = it and its subdomains
    name: str
    value: str

    def applies_to(self, host: str) -> bool:
        if not self.host:
            return True
        if self.host.startswith("*."):
            return host == self.host[2:] or host.endswith(self.host[1:])
        return host == self.host


def parse_header(entry: str) -> Header:
    """One --header entry; BadHeader saying what is wrong (never what the value is)."""
    host = ""
    first, _, rest = entry.strip().partition(" ")
    port = first.rpartition(":")[2] if ":" in first else ""
    if not first.endswith(":") and ":" in rest and (
            ":" not in first or port.isdigit() or first.startswith("[")):
        host, entry = first.lower(), rest  # "HOST Name: value"
        if not HOST.fullmatch(host):
            raise BadHeader(f"{host[:60]!r} is not a host name without a port "
                            "(HOST Name: value)")
    name, colon, value = entry.strip().partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not TOKEN.fullmatch(name):
        raise BadHeader(f"{name[:40]!r} is not `Name: value` (or `HOST Name: value`)")
    check_header(name, value)
    return Header(host.rstrip("."), name, value)


def check_header(name: str, value: str) -> None:
    """BadHeader when the crawl cannot send `name: value` (never saying what the value is)."""
    if not TOKEN.fullmatch(name):
        raise BadHeader(f"{name[:40]!r} is not a header name")
    if name.lower() in OWNED:
        raise BadHeader(f"header {name} is the crawler's own to set")
    if name.lower() in HAS_OPTION:
        raise BadHeader(f"header {name} has an option of its own: {HAS_OPTION[name.lower()]}")
    if not value:
        raise BadHeader(f"header {name} has no value")
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise BadHeader(f"header {name}: its value must be one line of printable text")


def check_headers(entries: tuple[str, ...]) -> str | None:
    """The settings check of --header: the first entry's problem, or None."""
    for entry in entries:
        try:
            parse_header(entry)
        except BadHeader as exc:
            return str(exc)
    return None


class HeaderRules:
    """The --header entries, asked per URL: `for_url(url)` -> the headers to send there."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.headers = [parse_header(entry) for entry in entries]
        self.names = frozenset(header.name.lower() for header in self.headers)
        self._every = {h.name: h.value for h in self.headers if not h.host}
        self._scoped = [h for h in self.headers if h.host]

    def __bool__(self) -> bool:
        return bool(self.headers)

    def for_url(self, url: str) -> dict[str, str]:
        if not self._scoped:
            return self._every
        host = host_of(url).lower()
        found = dict(self._every)
        for header in self._scoped:  # a host's own header wins over one for every host
            if header.applies_to(host):
                found[header.name] = header.value
        return found


REDACTED = "[redacted]"


def redact_set_cookie(value: str) -> str:
    """A Set-Cookie with its value hidden and its attributes kept: `sid=[redacted]; Path=/`."""
    pair, semicolon, attributes = value.partition(";")
    name = pair.partition("=")[0].strip()
    return f"{name}={REDACTED}{semicolon}{attributes}"


def redact(headers: list[tuple[str, str]], names: frozenset[str]) -> list[tuple[str, str]]:
    """`headers` with the values of those `names` (lowercase) hidden, and Set-Cookie's."""
    out = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            value = redact_set_cookie(value)
        elif lowered in names:
            value = REDACTED
        out.append((name, value))
    return out
