"""An asyncio web crawler and scraper: a polite frontier, one shared HTTP session, parsing and
extraction in a process pool, exactly-once outputs.

The public Python API is what this module exports (`from crawler import Crawl, Page`);
everything else is internal. The names load on first use, so the parse workers, which import
`crawler.parse.page`, do not import the whole crawler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crawler.version import __version__

if TYPE_CHECKING:  # what type checkers see; at run time each name loads on first use
    from crawler.api import Crawl
    from crawler.app import CrawlOutcome
    from crawler.errors import CrawlerError, UsageError
    from crawler.extract.page import Follow, Page
    from crawler.fetch.login import LoginResponse, LoginSession

_EXPORTS = {"Crawl": "crawler.api", "CrawlOutcome": "crawler.app",
            "CrawlerError": "crawler.errors", "UsageError": "crawler.errors",
            "Page": "crawler.extract.page", "Follow": "crawler.extract.page",
            "LoginSession": "crawler.fetch.login", "LoginResponse": "crawler.fetch.login"}
__all__ = ["Crawl", "CrawlOutcome", "CrawlerError", "Follow", "LoginResponse", "LoginSession",
           "Page", "UsageError", "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crawler' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
