"""What append-only outputs (JSON Lines, CSV, later WARC) share: one writer per file, and the
cut-back that makes appending exactly-once.

After each batch the writer commits the file's length (`size`) with the records' URLs marked
done. A crawl killed between the two left bytes that no commit covers; `open` cuts them off,
and their URLs are fetched again. A second crawl appending to the same file would have its
records cut off by that, so each file is locked (flock, released by the kernel when the process
dies, even by SIGKILL) and a second writer is refused with one line.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import BinaryIO

from crawler.errors import OutputLocked
from crawler.sinks.base import SinkError

log = logging.getLogger(__name__)


def lock_for_appending(file: BinaryIO, path: Path) -> None:
    """Take the file's exclusive lock, or close it and raise OutputLocked."""
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise OutputLocked(f"output {path} is being written by another crawl; two crawls "
                           "cannot append to one file (give each its own -o)") from None


class AppendOnlyFile:
    """A locked file that grows by whole batches, each synced before the job commits it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._file: BinaryIO | None = None

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def open(self, checkpoint: int | None) -> None:
        """Open for appending; cut the file back to `checkpoint` (what the job committed)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise SinkError(f"cannot open output {self.path}: {exc.strerror or exc}") from None
        lock_for_appending(self._file, self.path)
        self.size = self._file.seek(0, os.SEEK_END)
        if checkpoint is None or checkpoint == self.size:
            return
        if checkpoint < self.size:
            log.info("%s: dropping %d bytes an interrupted run wrote but never committed; "
                     "those URLs are fetched again", self.path, self.size - checkpoint)
            self._file.truncate(checkpoint)
            self.size = checkpoint
        else:
            log.warning("%s is shorter than this job committed (%d < %d bytes): records were "
                        "removed by something else; appending after what is left", self.path,
                        self.size, checkpoint)

    def head(self, limit: int = 1 << 16) -> bytes:
        """The first bytes of the file (a CSV header)."""
        with self.path.open("rb") as file:
            return file.read(limit)

    def append(self, data: bytes) -> None:
        """Write and fsync `data` (called from a worker thread)."""
        assert self._file is not None
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.size += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
