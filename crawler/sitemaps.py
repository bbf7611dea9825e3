"""Sitemaps (sitemaps.org): read a fetched body as an XML urlset, an XML sitemap index or a
plain-text list of URLs, gzipped or not, within the protocol's limits.

- gzip is recognised by its magic bytes, whatever Content-Type and Content-Encoding say
  (servers get it wrong both ways); decompressed, a sitemap may take 50 MiB at most.
- At most 50,000 URLs a file, the protocol's limit; the rest are ignored, with a note.
- XML is parsed by lxml's iterparse with entities left unexpanded, no DTD loaded and no
  network: no XXE, no billion laughs.
- A body that is none of these (an HTML page, an RSS feed, a robots.txt) is not a sitemap.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass, field

MAX_BYTES = 50 << 20  # decompressed
MAX_URLS = 50_000
MAX_INDEX_DEPTH = 5  # sitemap indexes nested deeper are not followed
GZIP_MAGIC = b"\x1f\x8b"
_KINDS = {"urlset": "urlset", "sitemapindex": "index"}


class TooLarge(Exception):
    """The sitemap decompresses to more than MAX_BYTES."""


@dataclass
class Sitemap:
    kind: str  # "urlset", "index" (its urls are sitemaps) or "text"
    urls: list[str] = field(default_factory=list)
    dropped: int = 0  # URLs past MAX_URLS
    problem: str | None = None  # why the file was read only in part


def gunzip_capped(data: bytes, limit: int = MAX_BYTES) -> bytes:
    """The decompressed bytes of a gzip body (concatenated members too), or TooLarge."""
    out, rest = [], data
    size = 0
    while rest[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        chunk = inflater.decompress(rest, limit - size + 1)
        size += len(chunk)
        out.append(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise TooLarge(f"sitemap decompresses to more than {limit >> 20} MiB")
        rest = inflater.unused_data
        if not inflater.eof:
            break
    return b"".join(out)


def read_sitemap(body: bytes, content_type: str | None) -> Sitemap | None:
    """The sitemap `body` is, or None when it is not one."""
    try:
        data = gunzip_capped(body) if body[:2] == GZIP_MAGIC else body[:MAX_BYTES]
    except TooLarge as exc:
        return Sitemap("urlset", problem=str(exc))
    except zlib.error as exc:
        return Sitemap("urlset", problem=f"sitemap is not valid gzip: {exc}")
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<"):
        return _read_xml(data)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("", "text/plain", "application/octet-stream"):
        return _read_text(data)
    return None


_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)[\s>/]")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _read_xml(data: bytes) -> Sitemap | None:
    from lxml import etree  # here: a crawl without sitemaps never pays for importing it

    sitemap: Sitemap | None = None
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True)
    try:
        for event, element in events:
            tag = _local(element.tag)
            if sitemap is None:  # the root element says what this is
                if event != "start" or tag not in _KINDS:
                    return None
                sitemap = Sitemap(_KINDS[tag])
                continue
            if event != "end":
                continue
            if tag == "loc" and element.text and element.text.strip():
                if len(sitemap.urls) < MAX_URLS:
                    sitemap.urls.append(element.text.strip())
                else:
                    sitemap.dropped += 1
            if tag in ("url", "sitemap"):
                element.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        if sitemap is None:  # refused before its root: a hostile DTD in a sitemap (lxml 6.2's
            # libxml2 stops a billion laughs there) is said in its record; other XML is none
            if _SITEMAP_ROOT.search(data[:1 << 16]) is None:
                return None
            return Sitemap("urlset", problem="sitemap XML is refused before its root "
                                             f"element: {exc}")
        sitemap.problem = f"sitemap XML ends in an error after {len(sitemap.urls)} URLs: {exc}"
    return sitemap


def _read_text(data: bytes) -> Sitemap | None:
    """A text sitemap: one http(s) URL a line, UTF-8, nothing else (else it is not one)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sitemap = Sitemap("text")
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if not line.lower().startswith(("http://", "https://")) or " " in line:
            return None
        if len(sitemap.urls) < MAX_URLS:
            sitemap.urls.append(line)
        else:
            sitemap.dropped += 1
    return sitemap if sitemap.urls else None
