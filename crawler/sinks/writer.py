"""Batches records, writes them to every sink and commits them to the job state, from one task.

`put` waits while the buffer is full, so a sink that cannot keep up slows the crawl down instead
of growing memory; with a WARC output, the HTTP bodies waiting are bounded too (BUFFERED_BYTES,
and a batch ends at BATCH_BYTES of them), so 150 pages of 10 MiB are never all in memory. A
sink that fails stops the writer; the next `put` (or `close`) raises it.

Each batch (records, and the items their pages yielded) is a group commit: first the `-o`
sinks get it (idempotent, or append-only with a
checkpoint), then one job-state transaction commits the records, the URLs queued and leased
since the last batch, and the sinks' checkpoints. A crawl killed anywhere in between resumes
with every record written exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Self, cast

from crawler.frontier.request import Request
from crawler.jobs.state import Batch, JobState
from crawler.records import Record, storable_dict, storable_items
from crawler.sinks.base import ArchiveSink, Sink, SinkError

log = logging.getLogger(__name__)
_STOP = None
BATCH_BYTES = 32 << 20  # HTTP bodies (for a WARC) one batch carries, at most
BUFFERED_BYTES = 64 << 20  # bodies waiting to be written; `put` waits past it


class RecordWriter:
    """`await writer.put(record, fp)`; records reach the sinks in batches, in the order put.
    `queued(request)` and `leased(fp)` journal frontier changes into the next commit."""

    def __init__(self, sinks: Sequence[Sink], batch_size: int, flush_seconds: float,
                 state: JobState | None = None,
                 on_stored: Callable[[list[int]], Awaitable[None]] | None = None) -> None:
        self.sinks = list(sinks)
        self.archives = {id(sink) for sink in self.sinks if isinstance(sink, ArchiveSink)}
        self.state = state
        self.on_stored = on_stored  # told the fingerprints of every batch the sinks stored
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.written = 0
        self._queue: asyncio.Queue[tuple[Record, int, bool] | None] = asyncio.Queue(
            maxsize=batch_size * 4)
        self._task: asyncio.Task[None] | None = None
        self._queued: list[Request] = []
        self._held: list[Request] = []
        self._leased: list[int] = []
        self.buffered_bytes = 0  # bodies put and not yet written (WARC exchanges)
        self._drained = asyncio.Event()  # set each time a batch is written

    def __repr__(self) -> str:
        return (f"<RecordWriter sinks={len(self.sinks)} buffered={self._queue.qsize()} "
                f"written={self.written}>")

    async def __aenter__(self) -> Self:
        offsets = await asyncio.to_thread(self.state.offsets) if self.state else {}
        opened: list[Sink] = []
        try:
            for sink in self.sinks:
                await sink.open(offsets.get(sink.name))
                opened.append(sink)
            await self._commit(Batch(offsets=self._checkpoints()))
        except BaseException:
            for sink in opened:
                await sink.close()
            raise
        self._task = asyncio.create_task(self._run(), name="record-writer")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def queued(self, request: Request) -> None:
        """The frontier queued `request`: commit it with the next batch."""
        self._queued.append(request)

    def held(self, request: Request) -> None:
        """The frontier held `request` back at --max-pages: keep it in the job, unqueued."""
        if self.state is not None:
            self._held.append(request)

    def leased(self, fp: int) -> None:
        """A fetch of this URL began: mark it leased with the next batch."""
        if self.state is not None:
            self._leased.append(fp)

    def _check(self) -> None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            exc = self._task.exception()
            if exc is not None:
                raise exc

    async def put(self, record: Record, fp: int, pruned: bool = False) -> None:
        """Buffer one record with its URL's fingerprint (`pruned`: a URL a trap limit kept from
        being fetched); waits while the buffer is full. Raises a sink's failure."""
        self._check()
        size = _body_bytes(record)
        while size and self.buffered_bytes and self.buffered_bytes + size > BUFFERED_BYTES:
            assert self._task is not None, "put() after close()"
            self._drained.clear()  # big bodies: wait for a batch to be written, not for room
            waiter = asyncio.ensure_future(self._drained.wait())
            try:
                await asyncio.wait((waiter, self._task), return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            self._check()
        self.buffered_bytes += size
        item = (record, fp, pruned)
        if not self._queue.full():
            self._queue.put_nowait(item)
            return
        assert self._task is not None, "put() after close()"
        putter = asyncio.ensure_future(self._queue.put(item))
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

    async def _next_batch(self) -> tuple[list[tuple[Record, int, bool]], bool]:
        """Up to batch_size records, waiting at most flush_seconds after the first one."""
        first = await self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        size = _body_bytes(first[0])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_seconds
        while len(batch) < self.batch_size and size < BATCH_BYTES:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            if item is _STOP:
                return batch, True
            batch.append(item)
            size += _body_bytes(item[0])
        return batch, False

    async def _run(self) -> None:
        stop = False
        while not stop:
            items, stop = await self._next_batch()
            if items:
                records, fps, pruned = zip(*items, strict=True)
                await self._write(list(records), list(fps), list(pruned))
            elif self._queued or self._held or self._leased:
                await self._commit(Batch())

    async def _write(self, records: list[Record], fps: list[int], pruned: list[bool]) -> None:
        rows = [storable_dict(record) for record in records]
        items = [item for record in records if record.item_data
                 for item in storable_items(record)]
        if self.state is not None and any(row["status"] == 304 for row in rows):
            items += await asyncio.to_thread(self.state.carry_forward, rows)
        for sink in self.sinks:
            if id(sink) in self.archives:  # an archive gets what went over the wire too
                await cast(ArchiveSink, sink).archive(
                    rows, [record.exchange for record in records])
            await sink.write(rows, items)
        for record in records:
            self.buffered_bytes -= _body_bytes(record)
            record.exchange = None  # the bodies are written: let them go now
        self._drained.set()
        await self._commit(Batch(rows=rows, fps=fps, pruned=pruned, items=items,
                                 offsets=self._checkpoints()))
        if self.on_stored is not None:
            await self.on_stored(fps)
        self.written += len(records)

    def _checkpoints(self) -> dict[str, int]:
        points = ((sink.name, sink.checkpoint()) for sink in self.sinks)
        return {name: point for name, point in points if point is not None}

    async def _commit(self, batch: Batch) -> None:
        """Commit `batch` with the frontier changes journaled so far, in one transaction."""
        if self.state is None:
            return
        batch.queued, self._queued = self._queued, []
        batch.held, self._held = self._held, []
        batch.leased, self._leased = self._leased, []
        try:
            await asyncio.to_thread(self.state.commit, batch)
        except sqlite3.Error as exc:
            raise SinkError(f"cannot write job state {self.state.path}: {exc}") from None


def _body_bytes(record: Record) -> int:
    """The HTTP body a record carries for an archive (0 without a WARC output)."""
    return len(record.exchange.body) if record.exchange is not None else 0
