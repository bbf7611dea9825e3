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
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.documents import document_kind  # no import of its libraries until used
from crawler.frontier.traps import record_form, url_trap
from crawler.jobs.changes import content_hash
from crawler.parse.encoding import sniff_encoding
from crawler.parse.nesting import limit_nesting, may_nest_deeply
from crawler.parse.resolve import BaseResolver, LinkMemo, without_fragment
from crawler.parse.result import PageMeta, ParseConfig, ParseResult
from crawler.parse.simhash import simhash
from crawler.urls import BadURL, fingerprint
from crawler.util.request_spec import RequestSpec

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
LINK_SELECTOR = "a[href], area[href], frame[src], iframe[src]"
WALK_SELECTOR = f"title, base[href], meta, link[rel][href], {LINK_SELECTOR}"
_LINK_TAGS = frozenset({"a", "area", "frame", "iframe"})
_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"']*)""",
                          re.IGNORECASE)
LINK_BYTES = 1 << 20  # the links one record stores, at most (links_found counts them all)
MAX_PRUNED_RECORDS = 1000  # trap records one page may add
LINK_MEMO = LinkMemo(10_000)  # per process: links resolved on earlier pages (about 5 MB)
_VALUED_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview",
                                "max-video-preview"})


def is_html(content_type: str | None) -> bool:
    """True for the media types we parse for links."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in HTML_TYPES


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


def _absolute(raw: str | None, resolver: BaseResolver) -> str | None:
    """`raw` resolved against the page's base, canonical; None when it is no http(s) URL."""
    if not raw:
        return None
    try:
        return resolver.resolve(raw)
    except BadURL:
        return None


@dataclass(slots=True)
class _Nodes:
    """What one walk over the tree finds: the head's elements that matter, and each distinct
    raw link (href or src) with the rel of its first sighting, in document order (a page
    repeats most of its links: 137 a page on the JDK docs, 45 distinct)."""

    title: str | None = None
    base_href: str | None = None
    canonical_href: str | None = None
    refresh: str | None = None
    directives: set[str] = field(default_factory=set)
    links: dict[str, str | None] = field(default_factory=dict)


def _walk(tree: LexborHTMLParser, robots_token: str) -> _Nodes:
    """One pass of the CSS engine over the whole tree (each query is a full walk)."""
    found = _Nodes()
    links = found.links
    for node in tree.css(WALK_SELECTOR):
        tag, attrs = node.tag, node.attributes
        if tag in _LINK_TAGS:
            raw = attrs.get("href") if "href" in attrs else attrs.get("src")
            if raw and raw not in links:
                links[raw] = attrs.get("rel")
        elif tag == "meta":
            name = (attrs.get("name") or "").strip().lower()
            if name in ("robots", robots_token):
                found.directives |= robots_directives(attrs.get("content") or "", robots_token)
            elif found.refresh is None and (
                    attrs.get("http-equiv") or "").strip().lower() == "refresh":
                found.refresh = attrs.get("content") or ""
        elif tag == "title":
            if found.title is None:
                found.title = " ".join(node.text().split())
        elif tag == "base":
            if found.base_href is None:
                found.base_href = attrs.get("href")
        elif found.canonical_href is None and (attrs.get("rel") or "").strip().lower() == (
                "canonical"):
            found.canonical_href = attrs.get("href")
    return found


def parse_page(url: str, body: bytes, content_type: str | None,
               config: ParseConfig, meta: PageMeta | None = None) -> ParseResult:
    """Title, links, directives and what the extraction asks for, of an HTML page fetched
    from `url` (a canonical URL); one parse serves all of it. A document (PDF, DOCX) gives
    its title and text (crawler.extract.documents)."""
    kind = document_kind(content_type, body)
    if kind is not None:
        return _document(body, kind)
    result = ParseResult(encoding=sniff_encoding(body, content_type),
                         body_hash=content_hash(body))
    if may_nest_deeply(body):
        if result.encoding.startswith("utf-16"):  # the guard reads ASCII-compatible bytes
            body = body.decode(result.encoding, "replace").encode("utf-8")
            result.encoding = "utf-8"
        body, result.cut_at_nesting = limit_nesting(body)
    if result.encoding == "utf-8" and not config.heavy:  # lexbor reads UTF-8 bytes as they are
        text = ""
        tree = LexborHTMLParser(body.removeprefix(codecs.BOM_UTF8))
    else:
        text = body.decode(result.encoding, errors="replace").removeprefix("\ufeff")
        tree = LexborHTMLParser(text)
    nodes = _walk(tree, config.robots_token)
    result.title = nodes.title or None
    rules = config.rules
    base = _absolute(nodes.base_href, BaseResolver(url, rules)) or url
    resolver = BaseResolver(base, rules)
    result.noindex, result.nofollow = "noindex" in nodes.directives, "nofollow" in (
        nodes.directives)
    if nodes.canonical_href is not None:
        found = _absolute(nodes.canonical_href, resolver)
        result.canonical_url = None if found is None else record_form(
            found, fingerprint(found), config.traps)
    if nodes.refresh is not None:
        match = _REFRESH_URL.match(nodes.refresh)
        if match and match.group(1).strip():
            result.refresh_url = _absolute(match.group(1).strip(), resolver)
    _collect_links(nodes.links, resolver, config, result)
    if config.simhash and tree.body is not None:
        result.simhash = simhash(tree.body.text(separator="\n"))
    if config.render_hints:
        from crawler.render.hints import render_hint, text_chars  # --render auto only

        result.text_chars = text_chars(tree)
        result.render_hint = render_hint(tree, result.text_chars)
    structured = None
    if config.structured or (config.extract is not None and config.extract.read_structured):
        from crawler.extract.structured import structured_data

        structured = structured_data(tree)
        result.structured = structured if config.structured else None
    if config.extract is not None or config.heavy:
        _extract(tree, text, url, base, config, meta or PageMeta(), result, structured)
    return result


def _document(body: bytes, kind: str) -> ParseResult:
    """A document's title and text as its `content`; its error when it cannot be read."""
    from crawler.extract.documents import DocumentError, document_text

    result = ParseResult(body_hash=content_hash(body))
    try:
        found = document_text(body, kind)
    except DocumentError as exc:
        result.extract_error = str(exc)
        return result
    result.title, result.content, result.extract_error = found.title, found.text, found.cut
    return result


def _extract(tree: LexborHTMLParser, text: str, url: str, base: str, config: ParseConfig,
             meta: PageMeta, result: ParseResult,
             structured: dict[str, Any] | None = None) -> None:
    """Rules, main content and the user's function; a failure is the page's error, never
    the crawl's."""
    from crawler.extract.apply import DataCut, extract_data
    from crawler.extract.page import OutputCut, Page, run_extractor

    try:
        if config.extract is not None:
            try:
                result.data = extract_data(tree, config.extract, url, base, config.rules,
                                           structured)
            except DataCut as cut:
                result.data, result.extract_error = cut.data, str(cut)
        if config.content != "none":
            from crawler.extract.content import main_content  # trafilatura: imported if used

            result.content = main_content(text, url, config.content, config.content_method)
        if config.extractor is not None:
            page = Page(url, meta.status, meta.headers, text, tree, base, config.rules,
                        max_follows=config.max_links)
            try:
                data, result.items = run_extractor(config.extractor, page)
            except OutputCut as cut:
                data, result.items, result.extract_error = cut.data, cut.items, str(cut)
            if data is not None:
                result.data = {**(result.data or {}), **data}
            follow_urls(page.follows, config, result)
            follow_requests(page.requests, config, result)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # the user's code: this page's
        result.extract_error = f"extract failed: {type(exc).__name__}: {exc}"


def follow_urls(urls: list[str], config: ParseConfig, result: ParseResult) -> None:
    """URLs to follow that were not links of the page (a user's function asked for them, or a
    sitemap listed them), under the rules links follow (scope, nofollow, traps); the frontier
    dedups them with the rest."""
    if result.nofollow and config.obey_robots_meta:
        return
    for link in urls:
        if config.scope.allows(link):
            _follow_or_prune(link, config, result)


def follow_requests(requests: list[tuple[str, RequestSpec]], config: ParseConfig,
                    result: ParseResult) -> None:
    """A function's POSTs and requests with headers: as follow_urls, judged by their URL and
    named by it with their marker (crawler.util.request_spec)."""
    if result.nofollow and config.obey_robots_meta:
        return
    for url, spec in requests:
        if not config.scope.allows(url):
            continue
        name = spec.named(url)
        fp = fingerprint(name)
        trap = url_trap(url, config.traps)
        if trap is None:
            result.follow.append((name, fp))
            result.specs[fp] = spec.encode()
        elif len(result.pruned) < MAX_PRUNED_RECORDS:
            result.pruned.append((record_form(name, fp, config.traps), fp, trap))
        else:
            result.pruned_unrecorded += 1


def _follow_or_prune(link: str, config: ParseConfig, result: ParseResult,
                     known: list | None = None) -> None:
    """Queue an in-scope link, or keep it as a trap record; one page adds at most
    MAX_PRUNED_RECORDS of those, the rest are only counted (pruned_unrecorded). `known`: the
    link's LinkMemo entry, whose fingerprint and trap verdict are reused or filled in."""
    if known is not None and known[1] is not None:
        fp, trap = known[1], known[2]
    else:
        fp = fingerprint(link)
        trap = url_trap(link, config.traps)
        if known is not None:
            known[1], known[2] = fp, trap
    if trap is None:
        result.follow.append((link, fp))
    elif len(result.pruned) < MAX_PRUNED_RECORDS:
        result.pruned.append((record_form(link, fp, config.traps), fp, trap))
    else:
        result.pruned_unrecorded += 1


def _collect_links(links: dict[str, str | None], resolver: BaseResolver,
                   config: ParseConfig, result: ParseResult) -> None:
    """Fill result.links, .follow and .pruned, at most config.max_links distinct links. What
    one page adds to the records is bounded: links over --max-url-length are never stored in
    full, and the links stored take at most LINK_BYTES. A link is resolved once per page
    whatever its fragment (its second sighting can change nothing), and once per worker for
    a directory while LINK_MEMO remembers it. The scope's host part is judged once for the
    links on the page's own origin."""
    seen: set[str] = set()
    long_seen: set[int] = set()  # fingerprints of links too long to keep as strings
    keys_seen: set[str] = set()
    scope, keep, obey_rel = config.scope, config.keep_links, config.obey_rel_nofollow
    longest = config.traps.max_url_length or sys.maxsize
    follow_none = result.nofollow and config.obey_robots_meta
    own_origin = resolver.origin + "/"
    own_origin_allowed = scope.allows_origin_of(own_origin)
    any_patterns = bool(scope.allow or scope.deny)
    memo = LINK_MEMO.for_rules((config.rules, config.traps))
    directory = resolver.origin + resolver.directory
    stored = 0
    for raw, rel in links.items():
        key = without_fragment(raw)
        if key in keys_seen:
            continue
        keys_seen.add(key)
        memo_key = (directory, key) if key and key[0] != "?" else None
        entry = memo.get(memo_key) if memo_key is not None else None
        if entry is None:
            try:
                entry = [resolver.resolve(key), None, None]
            except BadURL:
                entry = [None, None, None]
            if memo_key is not None:
                memo.put(memo_key, entry)
        link = entry[0]
        if link is None or link in seen:
            continue
        if len(seen) + len(long_seen) >= config.max_links:
            break
        if len(link) > longest:
            fp = fingerprint(link)
            if fp in long_seen:
                continue
            long_seen.add(fp)
        else:
            seen.add(link)
            if keep and stored < LINK_BYTES:
                result.links.append(link)
                stored += len(link)
        if follow_none:
            continue
        if link.startswith(own_origin):
            if not own_origin_allowed or (any_patterns and not scope.patterns_allow(link)):
                continue
        elif not scope.allows(link):
            continue
        if obey_rel and rel and "nofollow" in rel.lower().split():
            continue
        _follow_or_prune(link, config, result, entry)
    result.links_found = len(seen) + len(long_seen)
