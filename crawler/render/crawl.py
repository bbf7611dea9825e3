"""The renderer a crawl uses, wired to the crawl's own parts: every request a rendered page
makes is fetched by the crawl's fetcher (its address guard, deadlines and byte caps); frames the
page opens must be in the crawl's scope and allowed by robots.txt."""

from __future__ import annotations

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


def _fetch_with(fetcher: Fetcher, settings: Settings) -> SubFetch:
    cap = min(settings.max_body_bytes, SUBRESOURCE_BYTES)

    async def fetch(url: str, method: str, headers: dict[str, str],
                    body: bytes | None) -> Answer | str:
        result = await fetcher.fetch(url, max_bytes=cap, headers=headers, method=method,
                                     data=body, keep_headers=True)
        if result.error is not None or result.status is None:
            return result.error or "no answer"
        return Answer(result.status, list((result.headers or {}).items()), result.body)

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
