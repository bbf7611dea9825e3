"""Which URLs a crawl may fetch: the seeds' hosts or domains, then allow/deny patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from crawler.urls import host_of, origin


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


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
        if self.deny and any(p.search(canonical_url) for p in _compiled(self.deny)):
            return False
        return not self.allow or any(p.search(canonical_url) for p in _compiled(self.allow))
