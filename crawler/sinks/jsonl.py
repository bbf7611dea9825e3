"""JSON Lines sink: one record per line, appended in batches, flushed after every batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

import orjson

from crawler.sinks.base import Row, SinkError


class JsonLinesSink:
    """Writes each batch as whole lines, so a stopped crawl never leaves half a record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._file: BinaryIO | None = None

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise SinkError(f"cannot open output {self.path}: {exc.strerror or exc}") from None

    async def write(self, rows: list[Row]) -> None:
        assert self._file is not None
        data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        await asyncio.to_thread(self._append, data)

    def _append(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
