"""SQLite sink: a `pages` table, one row per URL and run, and an `items` table, one row per item
a page yielded (page URL, run, index). The job directory's crawl.db holds both (committed with
the job state); `-o results.db` writes another pair, idempotently."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import orjson

from crawler.records import RECORD_FIELDS
from crawler.sinks.base import Row, SinkError
from crawler.util.sqlbatch import STATEMENT_CACHE, run_rows

_COLUMN_TYPES = {"depth": "INTEGER", "status": "INTEGER", "elapsed_ms": "INTEGER",
                 "content_length": "INTEGER", "truncated": "INTEGER", "links_found": "INTEGER",
                 "redirects": "INTEGER", "attempts": "INTEGER", "noindex": "INTEGER",
                 "nofollow": "INTEGER", "schema_version": "INTEGER", "items": "INTEGER",
                 "rendered": "INTEGER", "render_ms": "INTEGER"}
JSON_COLUMNS = frozenset({"links", "data", "headers", "structured"})  # stored as JSON text
CREATE_PAGES = (
    "CREATE TABLE IF NOT EXISTS pages ("
    + ", ".join(f"{name} {_COLUMN_TYPES.get(name, 'TEXT')}" for name in RECORD_FIELDS)
    + ")"
)
_COLUMNS = f"({', '.join(RECORD_FIELDS)})"
UPSERT_PAGE = f"INSERT OR REPLACE INTO pages {_COLUMNS} VALUES {{values}}"  # {values}: rows of ?
CREATE_ITEMS = ('CREATE TABLE IF NOT EXISTS items (url TEXT NOT NULL, run_id TEXT NOT NULL, '
                '"index" INTEGER NOT NULL, fetched_at TEXT, data TEXT, '
                'PRIMARY KEY (url, run_id, "index"))')
INSERT_ITEM = 'INSERT OR REPLACE INTO items (url, run_id, "index", fetched_at, data) ' \
              "VALUES {values}"
DELETE_ITEMS = "DELETE FROM items WHERE url = ? AND run_id = ?"


def page_values(row: Row) -> tuple[Any, ...]:
    """A record's values in column order (links and data as JSON text)."""
    return tuple(_json(row[name]) if name in JSON_COLUMNS else row[name]
                 for name in RECORD_FIELDS)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def item_values(item: Row) -> tuple[Any, ...]:
    return (item["url"], item["run_id"], item["index"], item["fetched_at"], _json(item["data"]))


def prepare_pages_table(db: sqlite3.Connection) -> None:
    """Create the pages table, add the columns newer record schemas brought, and index it: one
    record per (url, run_id), which also finds a URL's earlier records."""
    db.execute(CREATE_PAGES)
    have = {row[1] for row in db.execute("PRAGMA table_info(pages)")}
    for name in RECORD_FIELDS:
        if name not in have:
            db.execute(f"ALTER TABLE pages ADD COLUMN {name} {_COLUMN_TYPES.get(name, 'TEXT')}")
    db.execute("DROP INDEX IF EXISTS pages_url")  # the unique index below serves its lookups
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS pages_url_run ON pages (url, run_id)")
    db.execute(CREATE_ITEMS)


class SqliteSink:
    """`-o results.db`: batches go in one transaction each, from a worker thread (WAL journal).
    Rows are upserted on (run_id, url), so a batch written again after a crash replaces itself."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._db: sqlite3.Connection | None = None

    async def open(self, checkpoint: int | None = None) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 cached_statements=STATEMENT_CACHE)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            prepare_pages_table(db)
        except (OSError, sqlite3.Error) as exc:
            raise SinkError(f"cannot open SQLite output {self.path}: {exc}") from None
        self._db = db

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        values = [page_values(row) for row in rows]
        pages = [(row["url"], row["run_id"]) for row in rows]
        await asyncio.to_thread(self._insert, values, pages, [item_values(i) for i in items])

    def _insert(self, rows: list[tuple[object, ...]], pages: list[tuple[str, str]],
                items: list[tuple[object, ...]]) -> None:
        assert self._db is not None
        try:
            with self._db:
                self._db.execute("BEGIN")
                run_rows(self._db, UPSERT_PAGE, rows)
                self._db.executemany(DELETE_ITEMS, pages)  # a page written again: its items too
                run_rows(self._db, INSERT_ITEM, items)
        except sqlite3.Error as exc:
            raise SinkError(f"cannot write SQLite output {self.path}: {exc}") from None

    def checkpoint(self) -> int | None:
        return None  # idempotent: nothing to remember

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.to_thread(db.close)
