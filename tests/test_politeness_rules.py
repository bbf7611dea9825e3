"""Unit: the pure politeness rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from crawler.fetch.politeness import (
    autothrottle_delay,
    backoff_seconds,
    is_retryable,
    retry_after_seconds,
)


def test_retry_after_in_seconds_and_as_http_date() -> None:
    """Retry-After is delta-seconds or an HTTP date; garbage and the past give None or 0."""
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now) == 90.0
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(earlier, now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None and retry_after_seconds("", now) is None


def test_backoff_doubles_with_jitter_and_stays_under_the_cap() -> None:
    """Attempt n waits between half and all of base * 2**(n-1), never more than the cap."""
    rng = random.Random(7)
    for attempt in range(1, 8):
        ceiling = min(30.0, 1.0 * 2 ** (attempt - 1))
        for _ in range(50):
            wait = backoff_seconds(attempt, 1.0, 30.0, rng)
            assert ceiling / 2 <= wait <= ceiling


def test_what_is_retried() -> None:
    """Transport errors, 408, 429 and most 5xx are retried; 404, 501 and bad redirects are not."""
    assert is_retryable(None, "timeout: no complete response within 30s")
    assert is_retryable(503, None) and is_retryable(429, None) and is_retryable(408, None)
    assert not is_retryable(404, None) and not is_retryable(501, None)
    assert not is_retryable(200, None) and not is_retryable(None, "bad redirect: x")


def test_autothrottle_moves_halfway_within_bounds() -> None:
    """The delay moves halfway to latency/target, within floor and ceiling; errors never
    shorten it."""
    assert autothrottle_delay(1.0, 0.2, 1.0, 0.0, 60.0, ok=True) == 0.6
    assert autothrottle_delay(1.0, 0.2, 1.0, 0.8, 60.0, ok=True) == 0.8
    assert autothrottle_delay(1.0, 500.0, 1.0, 0.0, 60.0, ok=True) == 60.0
    assert autothrottle_delay(1.0, 0.2, 1.0, 0.0, 60.0, ok=False) == 1.0
    assert autothrottle_delay(0.0, 2.0, 4.0, 0.0, 60.0, ok=True) == 0.25
