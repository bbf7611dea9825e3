"""Sitemaps (sitemaps.org): read a fetched body as an XML urlset, an XML sitemap index or a
plain-text list of URLs, gzipped or not, within the protocol's limits.

- gzip is recognised by its magic bytes, whatever Content-Type and Content-Encoding say
  (servers get it wrong both ways); decompressed, a sitemap may take 50 MiB at most.
- At most 50,000 URLs a file, the protocol's limit; the rest are ignored, with a note.
- XML is parsed by lxml's iterparse with entities left unexpanded, no DTD loaded and no
  network: no XXE, no billion laughs. A sitemap that declares entities says so in its record
  (what used them is cut); one that libxml2 refuses before its root is an error record.
- Every element is freed once read, and reading stops after MAX_ELEMENTS elements or
  MAX_SECONDS of CPU: twelve million empty elements cost what 200,000 do.
- A body that is none of these (an HTML page, an RSS feed, a robots.txt) is not a sitemap.
"""

from __future__ import annotations

import io
import re
import time
import zlib
from dataclasses import dataclass, field

MAX_BYTES = 50 << 20  # decompressed
MAX_URLS = 50_000
MAX_INDEX_DEPTH = 5  # sitemap indexes nested deeper are not followed
MAX_ELEMENTS = 4 * MAX_URLS + 1000  # <url><loc><lastmod><priority> a URL, and some slack
MAX_SECONDS = 5.0
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


_ENTITY = b"<!ENTITY"
_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)[\s>/]")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _read_xml(data: bytes) -> Sitemap | None:
    from lxml import etree  # here: a crawl without sitemaps never pays for importing it

    sitemap: Sitemap | None = None
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True)
    elements = 0
    deadline = time.process_time() + MAX_SECONDS
    try:
        for event, element in events:
            if sitemap is None:  # the root element says what this is
                tag = _local(element.tag)
                if event != "start" or tag not in _KINDS:
                    return None
                sitemap = Sitemap(_KINDS[tag])
                if _ENTITY in data[:1 << 16]:
                    sitemap.problem = ("sitemap declares entities (a DTD), which are not "
                                       "expanded: URLs that use them are cut")
                root = element
                continue
            if event != "end":
                continue
            elements += 1
            if elements > MAX_ELEMENTS or (elements % 10_000 == 0 and
                                           time.process_time() > deadline):
                sitemap.problem = (f"sitemap has more than {MAX_ELEMENTS} elements or took "
                                   f"over {MAX_SECONDS:g}s: read in part")
                break
            if element.text and _local(element.tag) == "loc" and element.text.strip():
                if len(sitemap.urls) < MAX_URLS:
                    sitemap.urls.append(element.text.strip())
                else:
                    sitemap.dropped += 1
            if element.getparent() is root:  # a <url> or anything else: done with it
                element.clear(keep_tail=False)
                while root[0] is not element:
                    del root[0]
                del root[0]
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
