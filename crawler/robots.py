"""robots.txt per RFC 9309, parsed by protego: fetched once per origin, cached, shared by every
request that waits for it.

2xx: the rules apply. 4xx (but 429): no rules, everything allowed. 429, 5xx, a network failure
or a timeout: the origin is unreachable, nothing may be fetched from it until a retry succeeds.
Up to 5 redirects are followed; more means "unavailable", so everything is allowed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from protego import Protego

from crawler.fetch import Fetcher
from crawler.guard import PREFIX as GUARD_PREFIX
from crawler.urls import BadURL, canonical, origin

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """One origin's robots.txt as it applies to us, and until when it may be trusted."""

    expires: float
    parser: Protego | None = None  # None: no rules, everything allowed
    unreachable: str | None = None  # why it could not be fetched; then nothing is allowed
    permanent: bool = False  # asking again will not help (the address guard refused the host)

    def allows(self, url: str, token: str) -> bool:
        if self.unreachable is not None:
            return False
        return self.parser is None or self.parser.can_fetch(url, token)

    def crawl_delay(self, token: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(token)
        return float(delay) if delay is not None else None


class RobotsCache:
    """`await cache.rules_for(url)`: one fetch per origin however many requests ask at once."""

    def __init__(self, fetcher: Fetcher, *, cache_seconds: float, retry_seconds: float,
                 max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.fetcher = fetcher
        self.cache_seconds = cache_seconds
        self.retry_seconds = retry_seconds
        self.max_bytes = max_bytes
        self._clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._loading: dict[str, asyncio.Future[RobotsRules]] = {}
        self.fetches = 0

    def __repr__(self) -> str:
        return (f"<RobotsCache origins={len(self._rules)} loading={len(self._loading)} "
                f"fetches={self.fetches}>")

    async def rules_for(self, url: str) -> RobotsRules:
        """The rules for the origin of `url` (a canonical URL), fetching them when stale."""
        key = origin(url)
        rules = self._rules.get(key)
        if rules is not None and rules.expires > self._clock():
            return rules
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load(self, key: str) -> RobotsRules:
        rules = await self._fetch(key)
        self._rules[key] = rules
        if rules.unreachable and not rules.permanent:
            log.warning("robots.txt of %s unreachable (%s): not crawling it, asking again in %gs",
                        key, rules.unreachable, self.retry_seconds)
        return rules

    async def _fetch(self, key: str) -> RobotsRules:
        url = key + "/robots.txt"
        for _ in range(MAX_REDIRECTS + 1):
            self.fetches += 1
            result = await self.fetcher.fetch(url, max_bytes=self.max_bytes)
            now, status = self._clock(), result.status or 0
            if result.error is not None:
                refused = result.error.startswith(GUARD_PREFIX)
                return RobotsRules(now + (self.cache_seconds if refused else self.retry_seconds),
                                   unreachable=result.error, permanent=refused)
            if 300 <= status < 400 and result.location:
                try:
                    url = canonical(result.location, url)
                except BadURL:
                    return RobotsRules(now + self.cache_seconds)
                continue
            if 200 <= status < 300:
                text = result.body.decode("utf-8", errors="replace")
                return RobotsRules(now + self.cache_seconds, parser=Protego.parse(text))
            if status == 429 or status >= 500:
                return RobotsRules(now + self.retry_seconds, unreachable=f"HTTP {status}")
            return RobotsRules(now + self.cache_seconds)  # 4xx: no rules apply
        return RobotsRules(self._clock() + self.cache_seconds)  # too many redirects
