"""Politeness policy as pure functions: which answers are retried, how long to back off, what a
Retry-After header asks for, and the autothrottle delay. The frontier applies them per host."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})


def is_retryable(status: int | None, error: str | None) -> bool:
    """Transport failures (no status) and overload/5xx answers are worth another attempt."""
    if error is not None:
        return not error.startswith(("bad redirect", "internal error", "address guard",
                                     "undecodable body"))
    return status in RETRY_STATUSES


def backoff_seconds(attempt: int, base: float, cap: float,
                    rng: random.Random | None = None) -> float:
    """Exponential backoff with "equal jitter": half of base * 2**(attempt-1) plus a random half,
    at most `cap`. attempt is 1 for the first retry."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def autothrottle_delay(current: float, latency: float, target: float, floor: float,
                       ceiling: float, ok: bool) -> float:
    """Scrapy's AutoThrottle rule: move halfway to latency / target, never below the host's
    floor (user delay or Crawl-delay) nor above the ceiling; a failed answer never shortens it."""
    wanted = (current + latency / target) / 2
    if not ok:
        wanted = max(wanted, current)
    return min(ceiling, max(floor, wanted))
