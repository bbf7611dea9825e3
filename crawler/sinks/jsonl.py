"""JSON Lines sink: one record per line, appended in batches, each batch flushed to disk.

Appending is made exactly-once by the job state: after each batch the writer commits this
file's length (`checkpoint`) with the records' URLs marked done. A crawl killed between the two
left lines that no commit covers; `open` cuts them off, and their URLs are fetched again. The
file is locked while open, so no second crawl appends to it (crawler.sinks.append).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import BinaryIO

import orjson

from crawler.sinks.append import lock_for_appending
from crawler.sinks.base import Row, SinkError

log = logging.getLogger(__name__)


class JsonLinesSink:
    """Writes each batch as whole lines and fsyncs it before the job state commits it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path.absolute())
        self._file: BinaryIO | None = None
        self._size = 0

    async def open(self, checkpoint: int | None = None) -> None:
        """Open for appending; cut the file back to `checkpoint` (what the job committed)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise SinkError(f"cannot open output {self.path}: {exc.strerror or exc}") from None
        lock_for_appending(self._file, self.path)
        self._size = self._file.seek(0, os.SEEK_END)
        if checkpoint is None or checkpoint == self._size:
            return
        if checkpoint < self._size:
            log.info("%s: dropping %d bytes of records an interrupted run wrote but never "
                     "committed; those URLs are fetched again", self.path,
                     self._size - checkpoint)
            self._file.truncate(checkpoint)
            self._size = checkpoint
        else:
            log.warning("%s is shorter than this job committed (%d < %d bytes): records were "
                        "removed by something else; appending after what is left", self.path,
                        self._size, checkpoint)

    async def write(self, rows: list[Row]) -> None:
        assert self._file is not None
        data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        await asyncio.to_thread(self._append, data)

    def _append(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._size += len(data)

    def checkpoint(self) -> int | None:
        """The file's length: everything up to here is written and synced."""
        return self._size

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
