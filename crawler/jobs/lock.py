"""An exclusive lock on a job directory, so two runs (a slow nightly run and the next one cron
starts) never share one job's state. The kernel drops the lock when the process dies, even by
SIGKILL, so a killed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from crawler.errors import JobLocked, UsageError
from crawler.records import now_iso

LOCK_NAME = "lock"


class JobLock:
    """`with JobLock(job_dir):` holds the lock; the file names the holder (pid, start time)."""

    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def __enter__(self) -> JobLock:
        try:
            file = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot use job directory {self.path.parent}: "
                             f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            file.close()
            raise JobLocked(f"job directory {self.path.parent} is in use by another crawl "
                            f"({holder}); not starting a second one") from None
        file.seek(0)
        file.truncate()
        file.write(f"pid {os.getpid()} since {now_iso()}\n")
        file.flush()
        self._file = file
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.truncate(0)
            self._file.close()  # closing the descriptor releases the lock
            self._file = None


def holder(job_dir: Path) -> str | None:
    """Who holds the job's lock ("pid N since T"), or None when nobody does. A lock file left
    by a killed run still names it, so the lock itself is tried (and let go at once)."""
    try:
        with (job_dir / LOCK_NAME).open("r", encoding="utf-8") as file:
            text = file.read().strip()
            if not text:
                return None
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return text
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)
            return None
    except OSError:
        return None
