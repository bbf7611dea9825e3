"""JSON Lines sink: one record per line, appended in batches, each batch flushed to disk.

`-o out.jsonl` writes the records there and the items pages yield to `out.items.jsonl` (made
when the first item comes). Both are exactly-once through crawler.sinks.append: the job commits
each file's length with the batch, and a resume cuts off what no commit covers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from crawler.sinks.append import AppendOnlyFile
from crawler.sinks.base import Row
from crawler.sinks.fields import picked


class JsonLinesSink:
    """Writes each batch as whole lines and fsyncs it before the job state commits it;
    `items=True`: the items file, opened when the first item comes."""

    def __init__(self, path: Path, items: bool = False, fields: tuple[str, ...] = ()) -> None:
        self.path = path
        self.items = items
        self.fields = fields  # --fields: the record fields kept (crawler.sinks.fields)
        self.name = str(path.absolute())
        self._out = AppendOnlyFile(path)
        self._checkpoint: int | None = None

    async def open(self, checkpoint: int | None = None) -> None:
        self._checkpoint = checkpoint
        if not self.items or self.path.exists():
            self._out.open(checkpoint)

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        chosen = items if self.items else rows
        if not chosen:
            return
        if not self._out.is_open:
            self._out.open(self._checkpoint)
        if self.fields and not self.items:
            chosen = [picked(row, self.fields) for row in chosen]
        data = b"".join(orjson.dumps(row) + b"\n" for row in chosen)
        await asyncio.to_thread(self._out.append, data)

    def checkpoint(self) -> int | None:
        """The file's length: everything up to here is written and synced."""
        return self._out.size

    async def close(self) -> None:
        self._out.close()
