"""Outage: one outage per stretch of failures, however many calls meet it; the limit counts
from its first failure; a success ends it and says how long it lasted."""

from __future__ import annotations

import pytest

from crawler.util.outage import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_calls_failing_together_share_one_outage_and_its_limit() -> None:
    """The first failure starts it (log once); later ones, from other calls, do not; the
    limit is reached `limit` seconds after the first."""
    clock = Clock()
    outage = Outage(5.0, first_pause=0.1, longest_pause=2.0, clock=clock)
    assert outage.began() is True
    clock.now += 3
    assert outage.began() is False and not outage.over_limit()
    clock.now += 2
    assert outage.over_limit()


def test_a_success_ends_it_and_the_next_failure_starts_afresh() -> None:
    """ended() gives the outage's length, then None while all is well; a new failure begins a
    new outage with the whole limit ahead of it."""
    clock = Clock()
    outage = Outage(5.0, first_pause=0.1, longest_pause=2.0, clock=clock)
    assert outage.ended() is None
    outage.began()
    clock.now += 4
    assert outage.ended() == 4.0 and outage.ended() is None
    clock.now += 10
    assert outage.began() is True and not outage.over_limit()


async def test_pauses_double_up_to_the_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pause n is first_pause * 2**n, capped, with up to half taken off as jitter."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("crawler.util.outage.asyncio.sleep", sleep)
    outage = Outage(60.0, first_pause=0.1, longest_pause=0.5)
    for attempt in range(5):
        await outage.pause(attempt)
    for got, full in zip(slept, [0.1, 0.2, 0.4, 0.5, 0.5], strict=True):
        assert full / 2 <= got <= full
