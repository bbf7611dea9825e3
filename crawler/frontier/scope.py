"""Which URLs a crawl may fetch: the seeds' hosts or domains, then allow/deny patterns.

The patterns are the user's regular expressions, run on every link and, on the event loop, on
every redirect target: they run with the `regex` module's time bound, so one that backtracks
without end (`(a+)+b`) costs PATTERN_SECONDS a URL, never a frozen crawl. A URL a pattern
cannot judge in that time is not fetched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from crawler.urls import host_of, origin

log = logging.getLogger(__name__)
PATTERN_SECONDS = 0.05


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[Any, ...]:
    import regex  # 2 MiB a process: loaded only by a crawl with --allow or --deny

    return tuple(regex.compile(p) for p in patterns)


def _matches(patterns: tuple[str, ...], url: str, on_timeout: bool) -> bool:
    """Whether one of the patterns matches; `on_timeout` when one runs out of time (so that
    the URL is not fetched: True for deny patterns, False for allow patterns)."""
    for pattern in _compiled(patterns):
        try:
            if pattern.search(url, timeout=PATTERN_SECONDS):
                return True
        except TimeoutError:
            log.warning("pattern %r took over %gs on %s: the URL is not fetched",
                        pattern.pattern, PATTERN_SECONDS, url[:200])
            return on_timeout
    return False


def _domain(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True, slots=True)
class Scope:
    """A picklable, immutable scope; parse workers get a copy with every page they parse.

    mode "host": same scheme, host and port as a seed; "domain": a seed's host (less "www.") or a
    subdomain of it, any scheme or port; "any": everything. Then a URL must match one `allow`
    pattern (when there are any) and no `deny` pattern.
    """

    mode: str
    origins: frozenset[str]
    domains: frozenset[str]
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @classmethod
    def for_seeds(cls, mode: str, seeds: list[str], allow: tuple[str, ...] = (),
                  deny: tuple[str, ...] = ()) -> Scope:
        return cls(mode, frozenset(), frozenset(), allow, deny).widened(seeds)

    def widened(self, urls: list[str]) -> Scope:
        """This scope with the hosts of `urls` added, as for a seed that redirected elsewhere."""
        origins = self.origins | {origin(u) for u in urls}
        domains = self.domains | {_domain(host_of(u)) for u in urls}
        return Scope(self.mode, origins, domains, self.allow, self.deny)

    def allows(self, canonical_url: str) -> bool:
        """True when the crawl may fetch this canonical URL."""
        return self.allows_origin_of(canonical_url) and self.patterns_allow(canonical_url)

    def allows_origin_of(self, canonical_url: str) -> bool:
        """The host part of `allows`: the URL's origin (host mode) or host (domain mode) is in
        scope. The same for every URL with that origin, so a page's same-origin links are
        judged once."""
        if self.mode == "host":
            return origin(canonical_url) in self.origins
        if self.mode == "domain":
            host = host_of(canonical_url)
            return any(host == d or host.endswith("." + d) for d in self.domains)
        return True

    def patterns_allow(self, canonical_url: str) -> bool:
        """The pattern part of `allows`: no deny pattern matches, an allow pattern does (when
        there are any)."""
        if self.deny and _matches(self.deny, canonical_url, on_timeout=True):
            return False
        return not self.allow or _matches(self.allow, canonical_url, on_timeout=False)
