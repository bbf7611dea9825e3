"""What append-only outputs (JSON Lines, later WARC) share: one writer per file.

An append-only file is made exactly-once by cutting it back, on resume, to the length its job
committed. A second crawl appending to the same file would have its records cut off by that, so
each such file is locked (flock, released by the kernel when the process dies, even by SIGKILL)
and a second writer is refused with one line.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import BinaryIO

from crawler.errors import OutputLocked


def lock_for_appending(file: BinaryIO, path: Path) -> None:
    """Take the file's exclusive lock, or close it and raise OutputLocked."""
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise OutputLocked(f"output {path} is being written by another crawl; two crawls "
                           "cannot append to one file (give each its own -o)") from None
