"""SQLite sink, the embedded default: a `pages` table in the job directory, one row per record."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson

from crawler.records import RECORD_FIELDS
from crawler.sinks.base import Row, SinkError

_COLUMN_TYPES = {"depth": "INTEGER", "status": "INTEGER", "elapsed_ms": "INTEGER",
                 "content_length": "INTEGER", "truncated": "INTEGER", "links_found": "INTEGER",
                 "redirects": "INTEGER", "attempts": "INTEGER", "noindex": "INTEGER",
                 "nofollow": "INTEGER", "schema_version": "INTEGER"}
CREATE_PAGES = (
    "CREATE TABLE IF NOT EXISTS pages ("
    + ", ".join(f"{name} {_COLUMN_TYPES.get(name, 'TEXT')}" for name in RECORD_FIELDS)
    + ")"
)
INSERT_PAGE = (
    f"INSERT INTO pages ({', '.join(RECORD_FIELDS)}) "
    f"VALUES ({', '.join('?' for _ in RECORD_FIELDS)})"
)


def _values(row: Row) -> tuple[object, ...]:
    return tuple(orjson.dumps(row[name]).decode() if name == "links" else row[name]
                 for name in RECORD_FIELDS)


class SqliteSink:
    """Batches go in one transaction each, written from a worker thread (WAL journal)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(CREATE_PAGES)
            db.execute("CREATE INDEX IF NOT EXISTS pages_url ON pages (url)")
        except (OSError, sqlite3.Error) as exc:
            raise SinkError(f"cannot open SQLite output {self.path}: {exc}") from None
        self._db = db

    async def write(self, rows: list[Row]) -> None:
        values = [_values(row) for row in rows]
        await asyncio.to_thread(self._insert, values)

    def _insert(self, rows: list[tuple[object, ...]]) -> None:
        assert self._db is not None
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(INSERT_PAGE, rows)
        except sqlite3.Error as exc:
            raise SinkError(f"cannot write SQLite output {self.path}: {exc}") from None

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.to_thread(db.close)
