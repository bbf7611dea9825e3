"""The part of the frontier that does not fit in memory: queued requests in SQLite, first in,
first out, written and read in batches so the per-URL cost stays small."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.request import Request

FLUSH_AT = 2000


class SpillQueue:
    """push() requests beyond the in-memory window; pop(n) the oldest ones back."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE spill (id INTEGER PRIMARY KEY, url TEXT, depth INTEGER, "
                         "referrer TEXT, redirects INTEGER)")
        self._buffer: list[tuple[str, int, str | None, int]] = []
        self._on_disk = 0

    def __len__(self) -> int:
        return self._on_disk + len(self._buffer)

    def __repr__(self) -> str:
        return f"<SpillQueue {self._on_disk} on disk, {len(self._buffer)} buffered>"

    def push(self, request: Request) -> None:
        self._buffer.append((request.url, request.depth, request.referrer, request.redirects))
        if len(self._buffer) >= FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO spill (url, depth, referrer, redirects) "
                                 "VALUES (?, ?, ?, ?)", self._buffer)
        self._on_disk += len(self._buffer)
        self._buffer.clear()

    def pop(self, count: int) -> list[Request]:
        """Up to `count` of the oldest requests, removed from the queue."""
        if self._on_disk == 0:
            taken, self._buffer = self._buffer[:count], self._buffer[count:]
            return [Request(*row) for row in taken]
        rows = self._db.execute("SELECT id, url, depth, referrer, redirects FROM spill "
                                "ORDER BY id LIMIT ?", (count,)).fetchall()
        if rows:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM spill WHERE id <= ?", (rows[-1][0],))
        self._on_disk -= len(rows)
        return [Request(url, depth, referrer, redirects)
                for _, url, depth, referrer, redirects in rows]

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)
