"""A job's records and items, read back from its crawl.db in the order they were committed.

The cursor is the row's rowid: rows are only ever appended, in the same transaction as the job
state that says their URL is done (crawler.jobs.state), so paging by `rowid > after` hands out
every record exactly once, across restarts of the crawl and of the service."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from crawler.records import RECORD_FIELDS
from crawler.sinks.sqlite import JSON_COLUMNS

BOOLEAN_COLUMNS = frozenset({"truncated", "noindex", "nofollow", "rendered"})
ITEM_FIELDS = ("url", "run_id", "index", "fetched_at", "data")
TABLES = {"records": ("pages", RECORD_FIELDS), "items": ("items", ITEM_FIELDS)}
MAX_LIMIT = 10_000


def _connect(db_path: Path) -> sqlite3.Connection | None:
    if not db_path.exists():
        return None
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    db.execute("PRAGMA query_only = 1")
    return db


def read_rows(db_path: Path, kind: str, after: int, limit: int, *, last: int = 0,
              errors_only: bool = False) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` rows of `kind` ("records" or "items") after the cursor `after`, as
    (cursor, row); with `last`, the last `last` rows instead (oldest first); `errors_only`
    keeps records with an error."""
    table, fields = TABLES[kind]
    db = _connect(db_path)
    if db is None:
        return []
    try:
        columns = ", ".join(f'"{name}"' for name in fields)
        where = "rowid > ?" + (" AND error IS NOT NULL" if errors_only else "")
        try:
            if last:
                rows = db.execute(f"SELECT rowid, {columns} FROM {table} WHERE {where} "
                                  "ORDER BY rowid DESC LIMIT ?", (after, last)).fetchall()
                rows.reverse()
            else:
                rows = db.execute(f"SELECT rowid, {columns} FROM {table} WHERE {where} "
                                  "ORDER BY rowid LIMIT ?", (after, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # the crawl has not created its tables yet
                return []
            raise
    finally:
        db.close()
    return [(row[0], _decode(fields, row[1:])) for row in rows]


def _decode(fields: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(fields, values, strict=True):
        if name in JSON_COLUMNS and value is not None:
            value = orjson.loads(value)
        elif name in BOOLEAN_COLUMNS and value is not None:
            value = bool(value)
        out[name] = value
    return out
