"""A local aiohttp site built per test from tiny page helpers, served on 127.0.0.1.

It logs every request it receives and how many handlers ran at once, so tests assert on what the
server saw, not on what the crawler says it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


def not_modified(request: web.Request, sent: dict[str, str]) -> bool:
    """RFC 9110: If-None-Match wins; else If-Modified-Since against Last-Modified."""
    etag = sent.get("ETag")
    if "If-None-Match" in request.headers:
        return etag is not None and request.headers["If-None-Match"] == etag
    since = request.headers.get("If-Modified-Since")
    return since is not None and sent.get("Last-Modified") == since


def html(title: str, *links: str, extra: str = "") -> str:
    anchors = "".join(f'<a href="{href}">{href}</a>\n' for href in links)
    return f"<html><head><title>{title}</title></head><body>{anchors}{extra}</body></html>"


@dataclass
class Gauge:
    """Handlers running at once, and the most ever; sites may share one to measure a crawl."""

    active: int = 0
    peak: int = 0

    def enter(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        self.active -= 1


@dataclass
class Site:
    """Routes by exact path (query ignored); unknown paths answer 404."""

    host: str = "127.0.0.1"
    delay: float = 0.0  # seconds every handler sleeps, to make concurrency observable
    handlers: dict[str, Handler] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)  # raw path and query -> requests
    log: list[str] = field(default_factory=list)
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (loop.time(), raw path)
    headers: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)
    peers: list[tuple[str, str]] = field(default_factory=list)  # (path, the client's address)
    gauge: Gauge = field(default_factory=Gauge)  # this site's own concurrency
    shared: Gauge | None = None  # a gauge shared with other sites
    base: str = ""
    fallback: Handler | None = None  # answers paths no handler has (else 404)
    not_modified: int = 0  # 304 answers sent
    _runner: web.AppRunner | None = None

    @property
    def max_active(self) -> int:
        return self.gauge.peak

    def url(self, path: str = "/") -> str:
        return self.base + path

    def page_hits(self) -> Counter[str]:
        """Requests per path, less robots.txt."""
        return Counter({p: n for p, n in self.hits.items() if p != "/robots.txt"})

    def gaps(self, exclude: tuple[str, ...] = ("/robots.txt",)) -> list[float]:
        """Seconds between consecutive requests, leaving out the given paths."""
        times = [t for t, path in self.arrivals if path not in exclude]
        return [b - a for a, b in itertools.pairwise(times)]

    def page(self, path: str, *links: str, title: str | None = None, extra: str = "",
             validators: str = "") -> None:
        self.add(path, html(title or path, *links, extra=extra).encode(),
                 content_type="text/html; charset=utf-8", validators=validators)

    def add(self, path: str, body: bytes = b"", status: int = 200,
            content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None, validators: str = "") -> None:
        """`validators`: "etag", "last-modified" or "both" makes the page send them and answer
        a matching If-None-Match / If-Modified-Since with 304 Not Modified."""
        sent = dict(headers or {})
        if validators in ("etag", "both"):
            sent["ETag"] = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
        if validators in ("last-modified", "both"):
            sent["Last-Modified"] = LAST_MODIFIED

        async def handler(request: web.Request) -> web.StreamResponse:
            if not_modified(request, sent):
                self.not_modified += 1
                return web.Response(status=304, headers={k: v for k, v in sent.items()
                                                         if k in ("ETag", "Last-Modified")})
            return web.Response(body=body, status=status, headers={
                "Content-Type": content_type, **sent})
        self.handlers[path] = handler

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.add(path, b"", status=status, headers={"Location": location})

    def route(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.raw_path] += 1
        self.log.append(request.raw_path)
        self.arrivals.append((asyncio.get_running_loop().time(), request.raw_path))
        self.headers.append((request.raw_path, dict(request.headers)))
        self.peers.append((request.raw_path, request.remote or ""))
        gauges = [self.gauge] + ([self.shared] if self.shared else [])
        for gauge in gauges:
            gauge.enter()
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            handler = self.handlers.get(request.path, self.fallback)
            if handler is None:
                return web.Response(status=404, text="not found", content_type="text/html")
            return await handler(request)
        finally:
            for gauge in gauges:
                gauge.leave()

    async def start(self, port: int = 0) -> Site:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        app.router.add_route("POST", "/{tail:.*}", self._dispatch)  # a sign-in form's
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        tcp = web.TCPSite(self._runner, self.host, port)
        await tcp.start()
        bound = self._runner.addresses[0][1]
        self.base = f"http://{self.host}:{bound}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def serve_tree(site: Site, pages: int, seconds: float, hosts: list[str]) -> None:
    """Page n links to its children 5n+1..5n+5 (so all are reachable), to a pseudo-random page
    of its own host and to the same page on the next host."""
    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        n = int(request.path.removeprefix("/p"))
        links = [f"/p{k}" for k in range(5 * n + 1, min(5 * n + 6, pages))]
        links.append(f"/p{n * 7919 % pages}")
        links.append(f"{hosts[(hosts.index(site.base) + 1) % len(hosts)]}/p{n}")
        anchors = "".join(f'<a href="{href}">x</a>' for href in links)
        return web.Response(text=f"<title>page {n}</title>{anchors}", content_type="text/html")

    for n in range(pages):
        site.route(f"/p{n}", page)


@contextlib.asynccontextmanager
async def tree_sites(hosts: tuple[str, ...], pages: int, seconds: float
                     ) -> AsyncIterator[list[Site]]:
    """One site per host, each serving a tree of `pages` pages that links across the hosts."""
    sites = [Site(host=host) for host in hosts]
    for site in sites:
        await site.start()
    for site in sites:
        serve_tree(site, pages, seconds, [s.base for s in sites])
    try:
        yield sites
    finally:
        for site in sites:
            await site.stop()
