"""The webhook outbox in the job's crawl.db: the pages' change records are turned into
batches once (the batches and the cursor past their rows commit in one transaction), and a
batch stays until its receiver took it, so a crawl killed at any instant neither loses a
change nor makes another batch of it.

Runs in a worker thread with its own connection (WAL: the crawl's writer goes on)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from crawler.notify.changes import NOTIFIED, boilerplate_only, change_entry
from crawler.records import now_iso

SCHEMA = ("CREATE TABLE IF NOT EXISTS webhook_batches (seq INTEGER PRIMARY KEY, "
          "id TEXT NOT NULL UNIQUE, body BLOB NOT NULL, changes INTEGER NOT NULL, "
          "attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, "
          "state TEXT NOT NULL DEFAULT 'pending', error TEXT)")
CURSOR = "webhook_cursor"  # meta key: the last pages rowid turned into batches
ROWS_A_READ = 1000
PAGE_COLUMNS = ("url", "run_id", "change", "status", "fetched_at", "title", "content", "data",
                "structured")


@dataclass(frozen=True)
class Batch:
    seq: int
    id: str
    body: bytes
    changes: int
    attempts: int
    next_at: float


class Outbox:
    """One job's webhook batches."""

    def __init__(self, db_path: Path, job_id: str, batch_size: int) -> None:
        self.job_id = job_id
        self.batch_size = batch_size
        self.db = sqlite3.connect(db_path, timeout=60, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout = 60000")
        with self.db:
            self.db.execute(SCHEMA)
        self.first_run = self._one("SELECT run_id FROM runs ORDER BY rowid LIMIT 1")
        if self._one("SELECT value FROM meta WHERE key = ?", CURSOR) is None:
            self._start_cursor()

    def close(self) -> None:
        self.db.close()

    def _one(self, sql: str, *args: Any) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def _start_cursor(self) -> None:
        """A job's first notifier: what earlier runs found is its baseline, not news."""
        current = self._one("SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1")
        last = self._one("SELECT max(rowid) FROM pages WHERE run_id != ?", current) or 0
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                            (CURSOR, str(last)))

    def collect(self) -> int:
        """Turn the change records committed since the last call into batches of at most
        `batch_size` changes, ROWS_A_READ records a transaction; the number of changes
        batched."""
        total = 0
        while (made := self._collect_some()) is not None:
            total += made
        return total

    def _collect_some(self) -> int | None:
        """One read of change records past the cursor, batched (None: caught up). The reads
        and diffs hold no lock; the batches and the cursor are written in one short
        transaction (the job's lock lets one notifier at a time move the cursor)."""
        cursor = int(self._one("SELECT value FROM meta WHERE key = ?", CURSOR) or 0)
        top = self._one("SELECT max(rowid) FROM pages") or 0
        if top <= cursor:
            return None
        rows = self.db.execute(
            f"SELECT rowid, {', '.join(PAGE_COLUMNS)} FROM pages WHERE rowid > ? AND "
            f"rowid <= ? AND change IN {NOTIFIED!r} ORDER BY rowid LIMIT ?",
            (cursor, top, ROWS_A_READ)).fetchall()
        entries = []
        for raw in rows:
            row = dict(zip(PAGE_COLUMNS, raw[1:], strict=True))
            if row["change"] == "new" and row["run_id"] == self.first_run:
                continue  # the first run is the baseline: its pages are not news
            for name in ("data", "structured"):
                row[name] = orjson.loads(row[name]) if row[name] else None
            previous = self._previous(row)
            if not boilerplate_only(row, previous):
                entries.append(change_entry(self.job_id, row, previous))
        with self.db:
            for start in range(0, len(entries), self.batch_size):
                self._add(entries[start:start + self.batch_size])
            done = rows[-1][0] if len(rows) == ROWS_A_READ else top
            self.db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(done), CURSOR))
        return len(entries)

    def _previous(self, row: dict[str, Any]) -> dict[str, Any] | None:
        if row["change"] != "changed":
            return None
        found = self.db.execute("SELECT content, data, structured FROM pages WHERE url = ? AND "
                                "run_id != ? ORDER BY rowid DESC LIMIT 1",
                                (row["url"], row["run_id"])).fetchone()
        if found is None:
            return None
        return {"content": found[0], "data": orjson.loads(found[1]) if found[1] else None,
                "structured": orjson.loads(found[2]) if found[2] else None}

    def _add(self, entries: list[dict[str, Any]]) -> None:
        batch_id = "msg_" + uuid.uuid4().hex
        body = orjson.dumps({"id": batch_id, "type": "pages.changed", "job": self.job_id,
                             "created_at": now_iso(), "changes": entries})
        self.db.execute("INSERT INTO webhook_batches (id, body, changes) VALUES (?, ?, ?)",
                        (batch_id, body, len(entries)))

    def next_batch(self) -> Batch | None:
        """The oldest batch not yet delivered (batches go in order)."""
        row = self.db.execute("SELECT seq, id, body, changes, attempts, next_at FROM "
                              "webhook_batches WHERE state = 'pending' ORDER BY seq LIMIT 1"
                              ).fetchone()
        return None if row is None else Batch(*row)

    def delivered(self, batch: Batch) -> None:
        with self.db:
            self.db.execute("UPDATE webhook_batches SET state = 'delivered', body = x'', "
                            "attempts = attempts + 1, error = NULL WHERE seq = ?",
                            (batch.seq,))

    def failed(self, batch: Batch, error: str, retry_in: float | None) -> None:
        """An attempt failed: try again in `retry_in` seconds, or (None) give the batch up."""
        state = "pending" if retry_in is not None else "failed"
        with self.db:
            self.db.execute("UPDATE webhook_batches SET attempts = attempts + 1, next_at = ?, "
                            "state = ?, error = ? WHERE seq = ?",
                            (time.time() + (retry_in or 0), state, error[:500], batch.seq))

    def counts(self) -> dict[str, int]:
        """Changes by the state of their batch: delivered, pending, failed."""
        found = dict(self.db.execute("SELECT state, sum(changes) FROM webhook_batches "
                                     "GROUP BY state").fetchall())
        return {state: int(found.get(state) or 0) for state in ("delivered", "pending",
                                                                 "failed")}
