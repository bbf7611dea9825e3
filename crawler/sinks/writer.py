"""Batches records and writes them to every sink from one task; a slow sink applies backpressure.

`put` waits while the buffer is full, so a sink that cannot keep up slows the crawl down instead
of growing memory. A sink that fails stops the writer; the next `put` (or `close`) raises it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Self

from crawler.records import Record
from crawler.sinks.base import Sink, SinkError

log = logging.getLogger(__name__)
_STOP = None


class RecordWriter:
    """`await writer.put(record)`; records reach the sinks in batches, in the order put."""

    def __init__(self, sinks: Sequence[Sink], batch_size: int, flush_seconds: float) -> None:
        self.sinks = list(sinks)
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.written = 0
        self._queue: asyncio.Queue[Record | None] = asyncio.Queue(maxsize=batch_size * 4)
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (f"<RecordWriter sinks={len(self.sinks)} buffered={self._queue.qsize()} "
                f"written={self.written}>")

    async def __aenter__(self) -> Self:
        opened: list[Sink] = []
        try:
            for sink in self.sinks:
                await sink.open()
                opened.append(sink)
        except BaseException:
            for sink in opened:
                await sink.close()
            raise
        self._task = asyncio.create_task(self._run(), name="record-writer")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check(self) -> None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            exc = self._task.exception()
            if exc is not None:
                raise exc

    async def put(self, record: Record) -> None:
        """Buffer one record; waits while the buffer is full. Raises a sink's failure."""
        self._check()
        if not self._queue.full():
            self._queue.put_nowait(record)
            return
        assert self._task is not None, "put() after close()"
        putter = asyncio.ensure_future(self._queue.put(record))
        try:  # wait for room, or for the writer to fail (then nobody makes room)
            await asyncio.wait((putter, self._task), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not putter.done():
                putter.cancel()
        self._check()

    async def close(self) -> None:
        """Write everything buffered, then close the sinks. Raises a sink's failure."""
        if self._task is None:
            return
        task, self._task = self._task, None
        try:
            if not task.done():
                await self._queue.put(_STOP)
            await task
        finally:
            for sink in self.sinks:
                try:
                    await sink.close()
                except (OSError, SinkError) as exc:
                    log.error("closing output %s failed: %s", sink.name, exc)

    async def _next_batch(self) -> tuple[list[Record], bool]:
        """Up to batch_size records, waiting at most flush_seconds after the first one."""
        first = await self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_seconds
        while len(batch) < self.batch_size:
            try:
                record = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        record = await self._queue.get()
                except TimeoutError:
                    break
            if record is _STOP:
                return batch, True
            batch.append(record)
        return batch, False

    async def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = await self._next_batch()
            if batch:
                rows = [record.to_dict() for record in batch]
                for sink in self.sinks:
                    await sink.write(rows)
                self.written += len(batch)
