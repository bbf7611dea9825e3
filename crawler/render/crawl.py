"""The renderer a crawl uses, wired to the crawl's own parts: every request a rendered page
makes is fetched by the crawl's fetcher (its address guard, deadlines and byte caps); frames the
page opens must be in the crawl's scope and allowed by robots.txt."""

from __future__ import annotations

from collections import OrderedDict

from crawler.fetch.fetcher import Fetcher
from crawler.fetch.robots import RobotsCache
from crawler.frontier.scope import Scope
from crawler.render.browser import chromium_binary
from crawler.render.pool import Renderer
from crawler.render.tab import BLOCKED_TYPES, Answer, Policy, RenderOptions, SubFetch
from crawler.settings import Settings
from crawler.urls import BadURL, canonical

SUBRESOURCE_BYTES = 20 << 20  # one script, stylesheet or XHR answer at most


def renderer_for(settings: Settings, fetcher: Fetcher, scope: Scope,
                 robots: RobotsCache | None) -> Renderer | None:
    """The crawl's renderer (not started: the browser starts with the first page), or None
    for --render never. UsageError when there is no Chromium."""
    if settings.render == "never":
        return None
    options = RenderOptions(
        timeout=settings.render_timeout, settle_ms=settings.render_settle_ms,
        wait_selector=settings.render_wait_selector, scrolls=settings.render_scrolls,
        max_requests=settings.render_max_requests,
        blocked_types=frozenset() if settings.render_load_media else BLOCKED_TYPES)
    return Renderer(chromium_binary(settings.render_browser), _fetch_with(fetcher, settings),
                    _policy(settings, scope, robots), settings.render_tabs, options,
                    settings.render_restart_pages, settings.render_memory_mb)


class SubresourceCache:
    """Scripts and stylesheets a rendered page loaded, kept for the next pages (most pages of
    a site load the same bundles): GET answers with status 200, a script or style type and no
    `no-store`, least recently used out first past `max_bytes`. The browser's own cache does
    not see them: every request is answered by the crawler."""

    def __init__(self, max_bytes: int = 64 << 20, max_entry: int = 4 << 20) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self.size = 0
        self.hits = 0
        self._entries: OrderedDict[str, Answer] = OrderedDict()

    def get(self, url: str) -> Answer | None:
        answer = self._entries.get(url)
        if answer is not None:
            self._entries.move_to_end(url)
            self.hits += 1
        return answer

    def put(self, url: str, answer: Answer) -> None:
        if answer.status != 200 or len(answer.body) > self.max_entry or url in self._entries:
            return
        headers = {name.lower(): value.lower() for name, value in answer.headers}
        kind = headers.get("content-type", "")
        if not any(word in kind for word in CACHED_TYPES) or \
                "no-store" in headers.get("cache-control", ""):
            return
        self._entries[url] = answer
        self.size += len(answer.body)
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped.body)


CACHED_TYPES = ("javascript", "ecmascript", "text/css", "wasm")


def _fetch_with(fetcher: Fetcher, settings: Settings) -> SubFetch:
    cap = min(settings.max_body_bytes, SUBRESOURCE_BYTES)
    cache = SubresourceCache()

    async def fetch(url: str, method: str, headers: dict[str, str],
                    body: bytes | None) -> Answer | str:
        if method == "GET":
            cached = cache.get(url)
            if cached is not None:
                return cached
        result = await fetcher.fetch(url, max_bytes=cap, headers=headers, method=method,
                                     data=body, keep_headers=True)
        if result.error is not None or result.status is None:
            return result.error or "no answer"
        answer = Answer(result.status, list((result.headers or {}).items()), result.body)
        if method == "GET" and not result.truncated:
            cache.put(url, answer)
        return answer

    return fetch


def _policy(settings: Settings, scope: Scope, robots: RobotsCache | None) -> Policy:
    token = settings.robots_token

    async def refusal(url: str, kind: str, main_frame: bool) -> str | None:
        if not url.startswith(("http://", "https://")):
            return None if url.startswith(("data:", "blob:")) else "not an http(s) URL"
        if kind != "Document":
            return None  # a page's own scripts, styles and data: the guard still applies
        try:
            target = canonical(url, rules=settings.url_rules)
        except BadURL as exc:
            return str(exc)
        if not scope.allows(target):
            return "a frame out of the crawl's scope"
        if robots is not None:
            rules = await robots.rules_for(target)
            if rules.unreachable is not None or not rules.allows(target, token):
                return "a frame robots.txt does not allow"
        return None

    return refusal
