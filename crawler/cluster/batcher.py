"""Join calls made within a few milliseconds into one round trip: each caller hands in its items
and awaits its own slice of the joint answer. Many pages finish within a millisecond or two of
each other, so their links reach Redis in one script call instead of one each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class CallBatcher(Generic[Item, Answer]):
    """`await batcher.submit(items)` -> one answer per item, from one `send(all items)` shared
    with every submit of the same `window` seconds."""

    def __init__(self, send: Callable[[list[Item]], Awaitable[Sequence[Answer]]],
                 window: float) -> None:
        self.send = send
        self.window = window
        self.calls = 0  # sends made
        self.submits = 0  # submits answered
        self._waiting: list[tuple[list[Item], asyncio.Future[list[Answer]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (f"<CallBatcher calls={self.calls} submits={self.submits} "
                f"waiting={len(self._waiting)}>")

    async def submit(self, items: list[Item]) -> list[Answer]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Answer]] = loop.create_future()
        self._waiting.append((items, future))
        if self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return await future

    def _flush(self) -> None:
        self._timer = None
        batch, self._waiting = self._waiting, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[list[Item], asyncio.Future[list[Answer]]]]) -> None:
        live = [(items, future) for items, future in batch if not future.done()]
        if not live:
            return
        try:
            answers = await self.send([item for items, _ in live for item in items])
        except BaseException as exc:  # every caller of this batch gets the failure
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.calls += 1
        start = 0
        for items, future in live:
            if not future.done():
                future.set_result(list(answers[start:start + len(items)]))
                self.submits += 1
            start += len(items)
