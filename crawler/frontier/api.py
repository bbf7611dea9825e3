"""What the engine asks of a frontier: `crawler.frontier.local.Frontier` (one process, the job
directory) and `crawler.cluster.redis_frontier.RedisFrontier` (many workers, Redis) both give it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from crawler.frontier.request import Request
from crawler.frontier.traps import PatternChain


class FrontierAPI(Protocol):
    """Hands out requests under per-host politeness and takes back links and verdicts.

    The contract both frontiers keep (tests/test_frontier_contract.py):
    - `close()` stops `get()` handing out requests (it returns None), but `add_links` goes on
      queueing: a page that finishes during the shutdown grace period keeps its links, and the
      next run (or another worker) crawls them. No URL is lost to a shutdown.
    - `done` and `requeue` still work after `close()`, for the requests in flight.
    """

    queued: int  # waiting, as far as this process knows
    in_flight: int  # handed out by this process and not yet done

    @property
    def pending(self) -> int: ...

    @property
    def full(self) -> bool:
        """--max-pages is reached: no URL can be admitted any more (as far as it knows)."""
        ...

    def stats(self) -> dict[str, Any]: ...

    async def get(self) -> Request | None: ...

    async def add_links(self, links: Iterable[tuple[str, int]], depth: int,
                        referrer: str | None, redirects: int = 0,
                        pruned: Iterable[tuple[str, int, str]] = (),
                        chain_from: PatternChain | None = None,
                        specs: Mapping[int, str] | None = None
                        ) -> list[tuple[str, int, str]]: ...

    async def share_scope(self, url: str) -> None: ...

    def done(self, request: Request) -> None: ...

    def requeue(self, request: Request, not_before: float) -> None: ...

    def pause_host(self, url: str, until: float) -> None: ...

    def set_host_rules(self, url: str, crawl_delay: float | None) -> None: ...

    def set_host_delay(self, url: str, delay: float) -> None: ...

    def host_delay(self, url: str) -> float: ...

    def close(self) -> None: ...
