"""CallBatcher: submits of one window share one send, each gets its own answers in order, a
failure reaches every caller of that send, and a caller that gave up does not disturb the
others."""

from __future__ import annotations

import asyncio

import pytest

from crawler.cluster.batcher import CallBatcher


async def test_submits_in_one_window_share_one_send() -> None:
    """Three pages' items go out as one call; each page gets the answers to its own items."""
    sent: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        sent.append(items)
        return [i * 10 for i in items]

    batcher: CallBatcher[int, int] = CallBatcher(send, 0.01)
    answers = await asyncio.gather(batcher.submit([1, 2]), batcher.submit([3]),
                                   batcher.submit([4, 5, 6]))
    assert answers == [[10, 20], [30], [40, 50, 60]]
    assert sent == [[1, 2, 3, 4, 5, 6]] and batcher.calls == 1
    assert await batcher.submit([7]) == [70] and batcher.calls == 2  # a later window: its own


async def test_a_failed_send_fails_every_caller_of_it() -> None:
    """The send's error is raised to each page whose links were in it."""
    async def send(items: list[int]) -> list[int]:
        raise ConnectionError("down")

    batcher: CallBatcher[int, int] = CallBatcher(send, 0.01)
    results = await asyncio.gather(batcher.submit([1]), batcher.submit([2]),
                                   return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


async def test_a_cancelled_caller_leaves_the_others_their_answers() -> None:
    """A page cancelled while it waits (a stop) is dropped from the send; the rest are
    answered."""
    sent: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        sent.append(items)
        return items

    batcher: CallBatcher[int, int] = CallBatcher(send, 0.02)
    doomed = asyncio.ensure_future(batcher.submit([1]))
    kept = asyncio.ensure_future(batcher.submit([2]))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == [2]
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert sent == [[2]]
