"""Parse one HTML page into plain data: title and canonical links. Runs in the parse workers.

`parse_page` is a pure top-level function (bytes in, plain data out) so it can run in a child
process: link resolution, canonicalisation and scope filtering happen here, off the event loop.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser
from yarl import URL

from crawler.scope import Scope
from crawler.urls import BadURL, canonical, fingerprint

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
LINK_SELECTOR = "a[href], area[href], frame[src], iframe[src]"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass(slots=True)
class ParseResult:
    """What a page yields: its title, every outgoing link, and the in-scope ones to follow."""

    title: str | None = None
    links: list[str] = field(default_factory=list)
    follow: list[tuple[str, int]] = field(default_factory=list)  # (canonical URL, fingerprint)
    links_found: int = 0


def is_html(content_type: str | None) -> bool:
    """True for the media types we parse for links."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


def _charset(content_type: str | None, body: bytes) -> str:
    """The page's encoding: byte order mark, then the header, then a <meta>, then UTF-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    candidates: list[bytes] = []
    if content_type and "charset=" in content_type.lower():
        value = content_type.lower().split("charset=", 1)[1].split(";", 1)[0]
        candidates.append(value.strip(" \"'").encode())
    match = _META_CHARSET.search(body, 0, 4096)
    if match:
        candidates.append(match.group(1))
    for candidate in candidates:
        try:
            return codecs.lookup(candidate.decode("ascii", "replace")).name
        except LookupError:
            continue
    return "utf-8"


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text; undecodable bytes become U+FFFD, so link extraction never stops."""
    encoding = _charset(content_type, body)
    text = body.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse_page(url: str, body: bytes, content_type: str | None, scope: Scope,
               keep_links: bool = True) -> ParseResult:
    """Title and links of an HTML page fetched from `url` (a canonical URL)."""
    tree = LexborHTMLParser(decode_html(body, content_type))
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node is not None else None
    base = URL(url, encoded=True)
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        with contextlib.suppress(ValueError):
            base = base.join(URL((base_node.attributes.get("href") or "").strip()))
    result = ParseResult(title=title or None)
    seen: set[str] = set()
    for node in tree.css(LINK_SELECTOR):
        attrs = node.attributes
        raw = attrs.get("href") if "href" in attrs else attrs.get("src")
        if not raw:
            continue
        try:
            link = canonical(raw, base)
        except BadURL:
            continue
        if link in seen:
            continue
        seen.add(link)
        if keep_links:
            result.links.append(link)
        if scope.allows(link):
            result.follow.append((link, fingerprint(link)))
    result.links_found = len(seen)
    return result
