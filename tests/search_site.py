"""A site with a search that answers POSTs (a form, or JSON), redirects that keep or drop a
POST, and a feed that wants a token header: what Follow(url, method="POST", data=...,
headers=...) is for."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from tests.extractors import FEED_TOKEN
from tests.site import Handler, Site, html

TERMS = ("apple", "banana")


def search_routes(site: Site, links: bool = True) -> Counter[tuple[str, str, str]]:
    """Routes on `site`; returns the count of (method, path, body) the site was sent. `links`:
    the home page links to the plain GET of /search too."""
    sent: Counter[tuple[str, str, str]] = Counter()
    terms = "".join(f'<li data-q="{term}">{term}</li>' for term in TERMS)
    site.page("/", *(["/search"] if links else []), extra=f'<ul id="terms">{terms}</ul>')

    async def search(request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        sent[(request.method, request.path, body)] += 1
        if request.method == "GET":
            return web.Response(text=html("search"), content_type="text/html")
        if request.content_type == "application/json":
            term = (await request.json())["q"]
        else:
            term = (await request.post())["q"]
        page = html("results", f"/item/{term}", extra=f'<h1 class="results">{term}</h1>')
        return web.Response(text=page, content_type="text/html")

    async def feed(request: web.Request) -> web.Response:
        sent[(request.method, request.path, "")] += 1
        if request.headers.get("X-Token") != FEED_TOKEN:
            return web.Response(status=403, text="no token")
        return web.Response(text=html("feed"), content_type="text/html")

    def redirect(status: int, location: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            sent[(request.method, request.path, (await request.read()).decode())] += 1
            return web.Response(status=status, headers={"Location": location})
        return handler

    site.route("/search", search)
    site.route("/api/feed", feed)
    site.route("/moved", redirect(307, "/search"))
    site.route("/seeother", redirect(303, "/done"))
    site.page("/done")
    for term in (*TERMS, "pear", "kept"):
        site.page(f"/item/{term}")
    return sent
