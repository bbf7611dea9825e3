"""With a WARC output the writer holds HTTP bodies until they are archived: how many bytes of
them wait, and how many one batch carries, is bounded (150 bodies of 10 MiB peaked at 2.3 GB
when only the record count bounded the buffer)."""

from __future__ import annotations

import asyncio

from crawler.records import Record
from crawler.sinks import writer as writer_module
from crawler.sinks.writer import RecordWriter
from crawler.util.exchange import Exchange

BODY = 10 << 20


class SlowArchive:
    """An archive sink that takes its time and remembers each batch's body bytes."""

    name = "slow-archive"

    def __init__(self, owner: list[RecordWriter]) -> None:
        self.owner = owner
        self.batches: list[int] = []
        self.peak_buffered = 0

    async def open(self, checkpoint: int | None = None) -> None:
        pass

    async def archive(self, rows: list, exchanges: list[Exchange | None]) -> None:
        self.peak_buffered = max(self.peak_buffered, self.owner[0].buffered_bytes)
        self.batches.append(sum(len(e.body) for e in exchanges if e is not None))
        await asyncio.sleep(0.01)

    async def write(self, rows: list, items: list) -> None:
        pass

    def checkpoint(self) -> int | None:
        return None

    async def close(self) -> None:
        pass


def record(n: int) -> Record:
    body = bytes(BODY)
    result = Record(url=f"http://a.example/{n}", depth=0, run_id="r", status=200)
    result.exchange = Exchange(f"/{n}", [], "HTTP/1.1", 200, "OK", [], body,
                               "2026-12-04T00:00:00.000Z")
    return result


async def test_bodies_waiting_and_per_batch_are_bounded() -> None:
    owner: list[RecordWriter] = []
    sink = SlowArchive(owner)
    async with RecordWriter([sink], batch_size=200, flush_seconds=0.05) as writer:
        owner.append(writer)
        for n in range(150):
            await writer.put(record(n), n)
            sink.peak_buffered = max(sink.peak_buffered, writer.buffered_bytes)
    assert sum(sink.batches) == 150 * BODY
    assert max(sink.batches) <= writer_module.BATCH_BYTES + BODY
    assert sink.peak_buffered <= writer_module.BUFFERED_BYTES + BODY
    assert writer.buffered_bytes == 0
