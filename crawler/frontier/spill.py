"""The part of the frontier that does not fit in memory: queued requests in SQLite, first in,
first out, written and read in batches so the per-URL cost stays small."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.frontier.request import History, Request
from crawler.urls import fp_from_sql, fp_to_sql

FLUSH_AT = 2000
COLUMNS = ("url, depth, referrer, redirects, fp, ok, etag, last_modified, content_hash, chain, "
           "request")
PLACES = ", ".join("?" * 11)
Row = tuple[str, int, str | None, int, int, int | None, str | None, str | None, str | None, int,
            str | None]


def to_row(request: Request) -> Row:
    """A request as a SQLite row (the fingerprint as a signed 64-bit integer)."""
    head = (request.url, request.depth, request.referrer, request.redirects,
            fp_to_sql(request.fp))
    h = request.history
    if h is None:
        return (*head, None, None, None, None, request.chain, request.spec)
    return (*head, int(h.ok), h.etag, h.last_modified, h.content_hash, request.chain,
            request.spec)


def from_row(row: Row) -> Request:
    url, depth, referrer, redirects, fp, ok, etag, last_modified, content_hash, chain, spec = row
    history = None if ok is None else History(bool(ok), etag, last_modified, content_hash)
    return Request(url, depth, referrer, redirects, fp_from_sql(fp), history, chain=chain or 0,
                   spec=spec)


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
                         "referrer TEXT, redirects INTEGER, fp INTEGER, ok INTEGER, etag TEXT, "
                         "last_modified TEXT, content_hash TEXT, chain INTEGER, request TEXT)")
        self._buffer: list[Row] = []
        self._on_disk = 0

    def __len__(self) -> int:
        return self._on_disk + len(self._buffer)

    def __repr__(self) -> str:
        return f"<SpillQueue {self._on_disk} on disk, {len(self._buffer)} buffered>"

    def push(self, request: Request) -> None:
        self._buffer.append(to_row(request))
        if len(self._buffer) >= FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT INTO spill ({COLUMNS}) VALUES ({PLACES})",
                                 self._buffer)
        self._on_disk += len(self._buffer)
        self._buffer.clear()

    def pop(self, count: int) -> list[Request]:
        """Up to `count` of the oldest requests, removed from the queue."""
        if self._on_disk == 0:
            taken, self._buffer = self._buffer[:count], self._buffer[count:]
            return [from_row(row) for row in taken]
        rows = self._db.execute(f"SELECT id, {COLUMNS} FROM spill ORDER BY id LIMIT ?",
                                (count,)).fetchall()
        if rows:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM spill WHERE id <= ?", (rows[-1][0],))
        self._on_disk -= len(rows)
        return [from_row(row[1:]) for row in rows]

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)
