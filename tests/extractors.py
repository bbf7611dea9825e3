"""Extraction functions the tests name with --extractor or on_page: importable top-level
functions, as the parse workers need."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crawler import Page


def quotes(page: Page) -> Iterator[Any]:
    """docs/scraping.md's example: an item per quote, and the next listing page followed."""
    for quote in page.css("div.quote"):
        yield {"text": quote.css_first("span.text").text(),
               "author": quote.css_first("small").text()}
    following = page.css_first("li.next a")
    if following is not None:
        yield page.follow(following.attributes["href"])


def headline(page: Page) -> dict[str, Any]:
    """A dict: the record's data."""
    node = page.css_first("h1")
    return {"h1": node.text() if node else None, "status": page.status,
            "type": page.headers.get("Content-Type"), "chars": len(page.text)}


def broken(page: Page) -> dict[str, Any]:
    """Raises on pages whose URL says 'bad'."""
    if "bad" in page.url:
        raise ValueError("this page is bad")
    return {"ok": True}


def two_items(page: Page) -> Iterator[dict[str, Any]]:
    """Two items per page (the chaos test counts them)."""
    for n in range(2):
        yield {"n": n, "page": page.url}


def exits(page: Page) -> dict[str, Any]:
    """Calls sys.exit on pages whose URL says 'exit', raises KeyboardInterrupt on 'interrupt'."""
    import sys

    if "exit" in page.url:
        sys.exit(3)
    if "interrupt" in page.url:
        raise KeyboardInterrupt
    return {"ok": True}


def follows_fifty(page: Page) -> None:
    """Asks to follow fifty pages of the site."""
    for n in range(50):
        page.follow(f"/f{n}")


def huge_items(page: Page) -> Iterator[dict[str, Any]]:
    """Yields items without end: each a kilobyte."""
    n = 0
    while True:
        yield {"n": n, "text": "x" * 1000}
        n += 1


FEED_TOKEN = "feed-t0ken-9f8e7d6c5b4a"


def searches(page: Page) -> Iterator[Any]:
    """On the home page: a POST search per term listed (`<li data-q>`), one twice, one as a
    Follow yielded without page.follow, a GET with a token header of its own, and POSTs that
    are redirected; on a result page, what it is the result for."""
    from crawler import Follow

    if page.css_first("ul#terms") is not None:
        for node in page.css("ul#terms li"):
            page.follow("/search", method="POST", data={"q": node.attributes["data-q"]})
        page.follow("/search", method="POST", data={"q": "apple"})  # the same POST again
        yield Follow("/search", method="POST", data={"q": "pear"})
        page.follow("/api/feed", headers={"X-Token": FEED_TOKEN})
        page.follow("/moved", method="POST", json={"q": "kept"})
        page.follow("/seeother", method="POST", data={"q": "dropped"})
    found = page.css_first("h1.results")
    if found is not None:
        yield {"results_for": found.text()}


def bad_follow(page: Page) -> dict[str, Any]:
    """Asks for a request the crawl cannot send (a header the crawler owns)."""
    page.follow("/x", headers={"Host": "elsewhere"})
    return {"never": True}
