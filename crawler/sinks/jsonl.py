"""JSON Lines sink: one record per line, appended in batches, flushed after every batch."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TextIO

from crawler.records import Record
from crawler.sinks.base import SinkError


class JsonLinesSink:
    """Writes each batch as whole lines, so a stopped crawl never leaves half a record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._file: TextIO | None = None

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise SinkError(f"cannot open output {self.path}: {exc.strerror or exc}") from None

    async def write(self, batch: list[Record]) -> None:
        assert self._file is not None
        text = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in batch)
        await asyncio.to_thread(self._append, text)

    def _append(self, text: str) -> None:
        assert self._file is not None
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
