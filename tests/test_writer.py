"""Record writer: batching, order, flushing on close, and failing loudly."""

from __future__ import annotations

import asyncio

import pytest

from crawler.records import Record
from crawler.sinks.base import SinkError
from crawler.sinks.writer import RecordWriter


class MemorySink:
    """A sink that keeps batches in memory, optionally slow or failing."""

    name = "memory"

    def __init__(self, pause: float = 0.0, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.pause, self.fail, self.closed = pause, fail, False

    async def open(self, checkpoint: int | None = None) -> None:
        pass

    def checkpoint(self) -> int | None:
        return None

    async def write(self, rows: list[dict], items: list[dict]) -> None:
        await asyncio.sleep(self.pause)
        if self.fail:
            raise SinkError("disk full")
        self.batches.append([r["url"] for r in rows])

    async def close(self) -> None:
        self.closed = True


def record(i: int) -> Record:
    return Record(url=f"http://a.com/{i}", depth=0, run_id="r")


async def test_batches_keep_order_and_close_flushes() -> None:
    """Records arrive in batches of at most batch_size, in order; close() writes the rest."""
    sink = MemorySink()
    async with RecordWriter([sink], batch_size=10, flush_seconds=5) as writer:
        for i in range(25):
            await writer.put(record(i), i)
    assert [len(b) for b in sink.batches] == [10, 10, 5]
    assert [url for batch in sink.batches for url in batch] == [
        f"http://a.com/{i}" for i in range(25)]
    assert sink.closed


async def test_slow_sink_applies_backpressure() -> None:
    """put() waits when the buffer is full: buffered records never exceed 4 batches."""
    sink = MemorySink(pause=0.05)
    writer = RecordWriter([sink], batch_size=2, flush_seconds=0.01)
    async with writer:
        for i in range(30):
            await writer.put(record(i), i)
            assert writer._queue.qsize() <= 8
    assert sum(len(b) for b in sink.batches) == 30


async def test_failing_sink_raises_instead_of_losing_silently() -> None:
    """A sink failure surfaces from put() or close(), even while put() waits for room."""
    writer = RecordWriter([MemorySink(fail=True)], batch_size=1, flush_seconds=0.01)
    await writer.__aenter__()
    with pytest.raises(SinkError, match="disk full"):
        for i in range(100):
            await writer.put(record(i), i)
    with pytest.raises(SinkError):
        await writer.close()
