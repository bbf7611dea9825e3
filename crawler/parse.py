"""Parse one HTML page into plain data: title, canonical links, page directives. Runs in the
parse workers.

`parse_page` is a pure top-level function (bytes in, plain data out) so it can run in a child
process: decoding, link resolution, canonicalisation and scope filtering happen here, off the
event loop.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from charset_normalizer import from_bytes
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.apply import extract_data
from crawler.extract.page import Extractor, Page, run_extractor
from crawler.extract.rules import Rules
from crawler.nesting import limit_nesting, may_nest_deeply
from crawler.scope import Scope
from crawler.traps import TrapLimits, record_form, url_trap
from crawler.urls import DEFAULT_RULES, BadURL, UrlRules, fingerprint, resolve_link

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
LINK_SELECTOR = "a[href], area[href], frame[src], iframe[src]"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"']*)""",
                          re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
DETECT_BYTES = 64 * 1024
LINK_BYTES = 1 << 20  # the links one record stores, at most (links_found counts them all)
MAX_PRUNED_RECORDS = 1000  # trap records one page may add
DEFAULT_TRAPS = TrapLimits()
_VALUED_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview",
                                "max-video-preview"})


@dataclass(frozen=True, slots=True)
class ParseConfig:
    """What the parse workers need to know besides the page; picklable, sent with each page."""

    scope: Scope
    rules: UrlRules = DEFAULT_RULES
    keep_links: bool = True
    obey_rel_nofollow: bool = True
    obey_robots_meta: bool = True  # <meta name="robots" content="nofollow"> stops following
    robots_token: str = "crawler"  # our product token, for <meta name="crawler">
    traps: TrapLimits = DEFAULT_TRAPS
    max_links: int = 10000
    extract: Rules | None = None  # --extract: the compiled rules
    content: str = "none"  # --content: none, text, markdown or html
    extractor: Extractor | None = None  # --extractor / on_page: an importable function


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the fetch learned besides the body, for a user's extraction function."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ParseResult:
    """What a page yields: title, every outgoing link, the ones to follow, its directives."""

    title: str | None = None
    links: list[str] = field(default_factory=list)
    follow: list[tuple[str, int]] = field(default_factory=list)  # (canonical URL, fingerprint)
    pruned: list[tuple[str, int, str]] = field(default_factory=list)  # (URL, fingerprint, why)
    links_found: int = 0
    noindex: bool = False
    nofollow: bool = False
    canonical_url: str | None = None
    refresh_url: str | None = None
    encoding: str = "utf-8"
    cut_at_nesting: bool = False  # the page nested deeper than MAX_NESTING; parsed up to there
    data: dict[str, Any] | None = None  # rules' fields and the function's dict
    content: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    extract_error: str | None = None  # the rules or the function failed on this page
    pruned_unrecorded: int = 0  # trap links beyond MAX_PRUNED_RECORDS: counted, not recorded


def is_html(content_type: str | None) -> bool:
    """True for the media types we parse for links."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


def _known_codec(name: bytes | str) -> str | None:
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
    try:
        return codecs.lookup(text.strip(" \"'")).name
    except LookupError:
        return None


def sniff_encoding(body: bytes, content_type: str | None) -> str:
    """The page's encoding: byte order mark, then the header, then a <meta>, then detection."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type and "charset=" in content_type.lower():
        declared = _known_codec(content_type.lower().split("charset=", 1)[1].split(";", 1)[0])
        if declared:
            return declared
    match = _META_CHARSET.search(body, 0, 4096)
    if match and (declared := _known_codec(match.group(1))):
        return "utf-8" if declared.startswith("utf-16") else declared  # a <meta> can't be UTF-16
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(body[:DETECT_BYTES]).best()
        return (best and _known_codec(best.encoding)) or "cp1252"


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text; undecodable bytes become U+FFFD, so link extraction never stops."""
    text = body.decode(sniff_encoding(body, content_type), errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def robots_directives(value: str, token: str) -> set[str]:
    """Directives of a robots meta tag or X-Robots-Tag value that apply to us ("none" expanded).

    Handles "noindex, nofollow" and agent-scoped values such as "crawler: nofollow"; a value
    scoped to another agent is ignored.
    """
    found: set[str] = set()
    agent: str | None = None
    for raw in value.lower().split(","):
        part = raw.strip()
        head, colon, rest = part.partition(":")
        if colon and head.strip() not in _VALUED_DIRECTIVES:
            agent, part = head.strip(), rest.strip()
        if agent not in (None, token):
            continue
        found.add(part)
    if "none" in found:
        found |= {"noindex", "nofollow"}
    return found


def _page_directives(tree: LexborHTMLParser, config: ParseConfig) -> set[str]:
    found: set[str] = set()
    for node in tree.css("meta[name]"):
        name = (node.attributes.get("name") or "").strip().lower()
        if name in ("robots", config.robots_token):
            found |= robots_directives(node.attributes.get("content") or "", config.robots_token)
    return found


def _absolute(raw: str | None, base: str, rules: UrlRules) -> str | None:
    """`raw` resolved against the canonical `base`, canonical; None when it is no http(s) URL."""
    if not raw:
        return None
    try:
        return resolve_link(raw, base, rules)
    except BadURL:
        return None


def parse_page(url: str, body: bytes, content_type: str | None,
               config: ParseConfig, meta: PageMeta | None = None) -> ParseResult:
    """Title, links, directives and what the extraction asks for, of an HTML page fetched
    from `url` (a canonical URL); one parse serves all of it."""
    result = ParseResult(encoding=sniff_encoding(body, content_type))
    if may_nest_deeply(body):
        if result.encoding.startswith("utf-16"):  # the guard reads ASCII-compatible bytes
            body = body.decode(result.encoding, "replace").encode("utf-8")
            result.encoding = "utf-8"
        body, result.cut_at_nesting = limit_nesting(body)
    text = body.decode(result.encoding, errors="replace").removeprefix("\ufeff")
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title")
    result.title = (" ".join(title_node.text().split()) or None) if title_node else None
    rules = config.rules
    base_node = tree.css_first("base[href]")
    base = (_absolute(base_node.attributes.get("href"), url, rules) if base_node else None) or url
    directives = _page_directives(tree, config)
    result.noindex, result.nofollow = "noindex" in directives, "nofollow" in directives
    canonical_node = tree.css_first('link[rel="canonical"][href]')
    if canonical_node is not None:
        found = _absolute(canonical_node.attributes.get("href"), base, rules)
        result.canonical_url = None if found is None else record_form(
            found, fingerprint(found), config.traps)
    for node in tree.css("meta[http-equiv]"):
        if (node.attributes.get("http-equiv") or "").strip().lower() == "refresh":
            match = _REFRESH_URL.match(node.attributes.get("content") or "")
            if match and match.group(1).strip():
                result.refresh_url = _absolute(match.group(1).strip(), base, rules)
            break
    _collect_links(tree, base, config, result)
    if config.extract is not None or config.content != "none" or config.extractor is not None:
        _extract(tree, text, url, base, config, meta or PageMeta(), result)
    return result


def _extract(tree: LexborHTMLParser, text: str, url: str, base: str, config: ParseConfig,
             meta: PageMeta, result: ParseResult) -> None:
    """Rules, main content and the user's function; a failure is the page's error, never
    the crawl's."""
    try:
        if config.extract is not None:
            result.data = extract_data(tree, config.extract, url, base, config.rules)
        if config.content != "none":
            from crawler.extract.content import main_content  # trafilatura: imported if used

            result.content = main_content(text, url, config.content)
        if config.extractor is not None:
            page = Page(url, meta.status, meta.headers, text, tree, base, config.rules)
            data, result.items = run_extractor(config.extractor, page)
            if data is not None:
                result.data = {**(result.data or {}), **data}
            _follow_links(page.follows, config, result)
    except Exception as exc:
        result.extract_error = f"extract failed: {type(exc).__name__}: {exc}"


def _follow_links(urls: list[str], config: ParseConfig, result: ParseResult) -> None:
    """Links a user's function asked for, under the rules links follow (scope, nofollow,
    traps); the frontier dedups them with the rest."""
    if result.nofollow and config.obey_robots_meta:
        return
    for link in urls:
        if config.scope.allows(link):
            _follow_or_prune(link, config, result)


def _follow_or_prune(link: str, config: ParseConfig, result: ParseResult) -> None:
    """Queue an in-scope link, or keep it as a trap record; one page adds at most
    MAX_PRUNED_RECORDS of those, the rest are only counted (pruned_unrecorded)."""
    fp = fingerprint(link)
    trap = url_trap(link, config.traps)
    if trap is None:
        result.follow.append((link, fp))
    elif len(result.pruned) < MAX_PRUNED_RECORDS:
        result.pruned.append((record_form(link, fp, config.traps), fp, trap))
    else:
        result.pruned_unrecorded += 1


def _collect_links(tree: LexborHTMLParser, base: str, config: ParseConfig,
                   result: ParseResult) -> None:
    """Fill result.links, .follow and .pruned, at most config.max_links distinct links. What
    one page adds to the records is bounded: links over --max-url-length are never stored in
    full, and the links stored take at most LINK_BYTES."""
    seen: set[str] = set()
    long_seen: set[int] = set()  # fingerprints of links too long to keep as strings
    scope, keep, obey_rel, rules = (config.scope, config.keep_links, config.obey_rel_nofollow,
                                    config.rules)
    longest = config.traps.max_url_length or sys.maxsize
    follow_none = result.nofollow and config.obey_robots_meta
    stored = 0
    for node in tree.css(LINK_SELECTOR):
        attrs = node.attributes
        link = _absolute(attrs.get("href") if "href" in attrs else attrs.get("src"), base, rules)
        if link is None or link in seen:
            continue
        if len(seen) + len(long_seen) >= config.max_links:
            break
        oversize = len(link) > longest
        if oversize:
            fp = fingerprint(link)
            if fp in long_seen:
                continue
            long_seen.add(fp)
        else:
            seen.add(link)
            if keep and stored < LINK_BYTES:
                result.links.append(link)
                stored += len(link)
        if follow_none or not scope.allows(link):
            continue
        if obey_rel and "nofollow" in (attrs.get("rel") or "").lower().split():
            continue
        _follow_or_prune(link, config, result)
    result.links_found = len(seen) + len(long_seen)
