"""robots.txt per RFC 9309, parsed by protego: fetched once per origin, cached, shared by every
request that waits for it.

2xx: the rules apply. 4xx (but 429): no rules, everything allowed. 429, 5xx, a network failure
or a timeout: the origin is unreachable, nothing may be fetched from it until a retry succeeds.
Up to 5 redirects are followed; more means "unavailable", so everything is allowed, and so does a
redirect to an address the guard refuses (the host did answer: RFC 9309 2.3.1.2 lets a crawler
take a robots.txt it cannot follow the redirects of as unavailable). A host the guard refuses
itself is refused for good.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from protego import Protego

from crawler.fetch.fetcher import Fetcher
from crawler.fetch.guard import PREFIX as GUARD_PREFIX
from crawler.urls import BadURL, canonical, origin

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
DEAD_HOST_RETRY_SECONDS = 1.0  # a refused connection or a name that does not resolve
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+|\*")
_RULE_KEYS = frozenset({"allow", "disallow"})
_GROUP_KEYS = frozenset({"user-agent", "crawl-delay", "request-rate", "visit-time"})


def normalise_robots_txt(text: str) -> str:
    """robots.txt as sites write it, rewritten into what protego reads as RFC 9309 means it:
    a byte order mark dropped; a user-agent value cut to its product token (`crawler/1.0`
    and `crawler bot` name `crawler`, RFC 9309 2.2.1); lines that are no group member
    (Sitemap, unknown lines) no longer end a group: Sitemap lines move to the end, unknown
    lines go, and a Crawl-delay between two user-agent lines follows the last of them."""
    lines = text.removeprefix("\ufeff").splitlines()
    out: list[str] = []
    held: list[str] = []  # group members met between user-agent lines of one group
    sitemaps: list[str] = []
    in_agents = False  # the lines so far are this group's user-agent lines
    for line in lines:
        content = line.split("#", 1)[0].strip()
        key, colon, value = content.partition(":")
        if not colon and " " in content:  # "user-agent FooBot": the colon forgotten
            key, _, value = content.partition(" ")
        key = key.strip().lower()
        if key == "user-agent":
            token = _PRODUCT_TOKEN.match(value.strip())
            if not in_agents:
                out += held
                held = []
            out.append(f"User-agent: {token.group() if token else value.strip()}")
            in_agents = True
        elif key == "sitemap":
            sitemaps.append(content)
        elif key in _RULE_KEYS:
            out += [*held, f"{key}: {value.strip()}"]
            held, in_agents = [], False
        elif key in _GROUP_KEYS:
            (held if in_agents else out).append(content)
        elif not content:
            continue
    return "\n".join([*out, *held, *sitemaps]) + "\n"


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """One origin's robots.txt as it applies to us, and until when it may be trusted."""

    expires: float
    parser: Protego | None = None  # None: no rules, everything allowed
    unreachable: str | None = None  # why it could not be fetched; then nothing is allowed
    permanent: bool = False  # asking again will not help (the address guard refused the host)

    @classmethod
    def parse(cls, body: bytes, expires: float) -> RobotsRules:
        """The rules a robots.txt body gives (as sites write them: normalise_robots_txt)."""
        text = normalise_robots_txt(body.decode("utf-8", errors="replace"))
        return cls(expires, parser=Protego.parse(text))

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
                        key, rules.unreachable, max(0.0, rules.expires - self._clock()))
        return rules

    async def _fetch(self, key: str) -> RobotsRules:
        url = key + "/robots.txt"
        for hop in range(MAX_REDIRECTS + 1):
            self.fetches += 1
            result = await self.fetcher.fetch(url, max_bytes=self.max_bytes)
            now, status = self._clock(), result.status or 0
            if result.error is not None:
                refused = result.error.startswith(GUARD_PREFIX)
                if refused and hop:  # the host answered; its redirect is ours to refuse
                    log.warning("robots.txt of %s redirects to %s, which %s: treated as "
                                "unavailable (no rules)", key, url, result.error)
                    return RobotsRules(now + self.cache_seconds)
                wait = self.cache_seconds if refused else self.retry_seconds
                if result.error.startswith("connection failed"):  # refused, no DNS: a dead
                    wait = min(wait, DEAD_HOST_RETRY_SECONDS)  # or mistyped host, ask soon
                return RobotsRules(now + wait, unreachable=result.error, permanent=refused)
            if 300 <= status < 400 and result.location:
                try:
                    url = canonical(result.location, url)
                except BadURL:
                    return RobotsRules(now + self.cache_seconds)
                continue
            if 200 <= status < 300:
                return RobotsRules.parse(result.body, now + self.cache_seconds)
            if status == 429 or status >= 500:
                return RobotsRules(now + self.retry_seconds, unreachable=f"HTTP {status}")
            return RobotsRules(now + self.cache_seconds)  # 4xx: no rules apply
        return RobotsRules(self._clock() + self.cache_seconds)  # too many redirects
