"""The job's durable state: one SQLite database (WAL journal) in the job directory, crawl.db.

- `urls`: every URL the job knows (the seen-set), its state (queued, leased, done, pruned: the
  frontier and its in-flight leases) and its latest fetch (validators, content hash).
- `pages`: the records, one per URL and run (the fetch history); `items`: what pages yielded.
- `runs`: one row per run; `sink_offsets`: how far each JSONL output is committed.
- `meta`: the job's identity (`job_id`, which the outputs it owns name: crawler.sinks.owner).

Each done URL remembers the fingerprint of the extraction settings that produced its data
(`urls.extraction`), so a recrawl with other rules fetches it in full instead of carrying old
data over a 304; and a URL whose last answer was a failure that can pass (refused connection,
timeout, 429, 5xx) is tried again when the finished job runs again (`retryable`).

`commit` writes one batch in one transaction: the URLs queued since the last batch, the leases
taken, and the finished records with their URLs marked done. Links are queued before the page
that yielded them finishes, so a URL is never done without its links, and a crawl killed at
any instant resumes from a consistent state.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from crawler.errors import UsageError
from crawler.frontier.request import Request
from crawler.frontier.spill import COLUMNS as REQUEST_COLUMNS
from crawler.frontier.spill import from_row, to_row
from crawler.jobs.changes import answer_ok
from crawler.records import error_kind, now_iso
from crawler.sinks.sqlite import (
    INSERT_ITEM,
    JSON_COLUMNS,
    UPSERT_PAGE,
    item_values,
    page_values,
    prepare_pages_table,
)
from crawler.urls import fp_to_sql
from crawler.util.sqlbatch import STATEMENT_CACHE, in_list, run_rows

QUEUED, LEASED, DONE, PRUNED, HELD = 0, 1, 2, 3, 4  # HELD: found past --max-pages
STATE_NAMES = {QUEUED: "queued", LEASED: "leased", DONE: "done", PRUNED: "pruned",
               HELD: "held"}
DB_NAME = "crawl.db"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS urls (fp INTEGER PRIMARY KEY, url TEXT NOT NULL, "
    "depth INTEGER NOT NULL, referrer TEXT, redirects INTEGER NOT NULL, state INTEGER NOT NULL, "
    "ok INTEGER, etag TEXT, last_modified TEXT, content_hash TEXT, status INTEGER, "
    "fetched_at TEXT, chain INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, "
    "finished_at TEXT, outcome TEXT NOT NULL, sessions INTEGER NOT NULL, report TEXT)",
    "CREATE TABLE IF NOT EXISTS sink_offsets (sink TEXT PRIMARY KEY, byte_offset INTEGER "
    "NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
ADDED_URL_COLUMNS = {"chain": "INTEGER NOT NULL DEFAULT 0", "extraction": "TEXT",
                     "request": "TEXT"}  # a POST's or a Follow's with headers (Request.spec)
NO_EXTRACTION = "none"  # the fingerprint of a crawl that extracts nothing (and of older jobs)
# Failures that can pass: tried again when the finished job runs again (wget -c style).
RETRYABLE_ERRORS = ("timeout", "connection failed", "server disconnected", "incomplete body",
                    "robots.txt unreachable", "host asked to wait", "host unreachable")
# statements for crawler.util.sqlbatch: {values} takes rows of (?, ...), {keys} a list of ?
INSERT_QUEUED = f"INSERT OR IGNORE INTO urls ({REQUEST_COLUMNS}, state) VALUES {{values}}"
RELEASE_HELD = f"UPDATE urls SET state = {QUEUED} WHERE state = {HELD} AND fp IN ({{keys}})"
INSERT_PRUNED = ("INSERT OR REPLACE INTO urls (url, depth, referrer, redirects, fp, state) "
                 "VALUES {values}")
UPDATE_LEASED = f"UPDATE urls SET state = {LEASED} WHERE state = {QUEUED} AND fp IN ({{keys}})"
UPDATE_DONE = (
    "WITH v (status, fetched_at, etag, last_modified, content_hash, ok, extraction, fp) AS "
    "(VALUES {values}) "
    f"UPDATE urls SET state = {DONE}, status = v.status, fetched_at = v.fetched_at, "
    "etag = v.etag, last_modified = v.last_modified, content_hash = v.content_hash, "
    "ok = coalesce(v.ok, urls.ok), extraction = v.extraction FROM v WHERE urls.fp = v.fp")
CARRIED = ("title", "content_type", "content_length", "links_found", "links", "canonical_url",
           "data", "content", "structured", "items")


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the job: what `begin_run` decided and what the runs table says."""

    run_id: str
    kind: str  # new, resume, recrawl, or idle (finished and no recrawl due)
    started_at: str
    sessions: int = 1
    finished_at: str | None = None


@dataclass(slots=True)
class Batch:
    """What one transaction commits: records in the order finished, and what led to them."""

    queued: list[Request] = field(default_factory=list)
    held: list[Request] = field(default_factory=list)  # found past --max-pages: kept, not queued
    leased: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    fps: list[int] = field(default_factory=list)  # per row: its URL's fingerprint
    items: list[dict[str, Any]] = field(default_factory=list)  # item rows of these records
    pruned: list[bool] = field(default_factory=list)  # per row: a trap prune, never fetched
    offsets: dict[str, int] = field(default_factory=dict)


class JobState:
    """The job directory's crawl.db. Not thread-safe: one caller at a time (the writer task's
    worker thread while crawling, the main task before and after)."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._any_held: bool | None = None  # URLs held at --max-pages exist (asked once)
        self.extraction = NO_EXTRACTION  # this crawl's extraction fingerprint, for done URLs

    @classmethod
    def open(cls, job_dir: Path) -> JobState:
        """Open (or create) the job's state; a UsageError naming the problem if it cannot."""
        path = job_dir / DB_NAME
        try:
            new = not path.exists()
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                 cached_statements=STATEMENT_CACHE)
            if new:  # it keeps what a Follow's request sends (Request.spec): owner-only
                path.chmod(0o600)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a process crash loses no commit
            db.execute("PRAGMA busy_timeout=10000")
            db.create_function("error_kind", 1, error_kind, deterministic=True)
            for statement in SCHEMA:
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(urls)")}
            for name, kind in ADDED_URL_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE urls ADD COLUMN {name} {kind}")
            db.execute("INSERT OR IGNORE INTO meta VALUES ('job_id', ?)", (uuid.uuid4().hex,))
            prepare_pages_table(db)
        except sqlite3.Error as exc:
            raise UsageError(f"cannot use job state {path}: {exc}") from None
        return cls(path, db)

    @classmethod
    def open_readonly(cls, job_dir: Path) -> JobState:
        """Open an existing job's state to read it, beside a crawl that may be writing it."""
        path = job_dir / DB_NAME
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True,
                             isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        db.create_function("error_kind", 1, error_kind, deterministic=True)
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    @property
    def job_id(self) -> str:
        """The job's identity, made when its crawl.db was: a new job in the same directory
        (after `rm -r`) is another job."""
        return self._db.execute("SELECT value FROM meta WHERE key = 'job_id'").fetchone()[0]

    # -- runs ---------------------------------------------------------------------------------

    def last_run(self) -> Run | None:
        row = self._db.execute("SELECT run_id, started_at, finished_at, sessions FROM runs "
                               "ORDER BY rowid DESC LIMIT 1").fetchone()
        if row is None:
            return None
        run_id, started_at, finished_at, sessions = row
        return Run(run_id, "resume" if finished_at is None else "idle", started_at, sessions,
                   finished_at)

    def begin_run(self, new_run_id: str, *, recrawl: bool, recrawl_after: float) -> Run:
        """Resume the unfinished run, start the first one, or start a recrawl of a finished
        job when asked (or when `recrawl_after` seconds have passed); else an idle Run."""
        last = self.last_run()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if last is not None and last.finished_at is None:
                self._db.execute("UPDATE runs SET sessions = sessions + 1, outcome = 'running' "
                                 "WHERE run_id = ?", (last.run_id,))
                return Run(last.run_id, "resume", last.started_at, last.sessions + 1)
            if last is not None:
                assert last.finished_at is not None
                age = (datetime.fromisoformat(now_iso()) -
                       datetime.fromisoformat(last.finished_at)).total_seconds()
                if not recrawl and not (recrawl_after and age >= recrawl_after):
                    return last
                self._db.execute(f"DELETE FROM urls WHERE state = {PRUNED}")
                self._db.execute(f"UPDATE urls SET state = {QUEUED} WHERE state != {HELD}")
                # data from other extraction settings is never carried over a 304: no
                # validators, so those pages are fetched in full and extracted again
                self._db.execute("UPDATE urls SET etag = NULL, last_modified = NULL WHERE "
                                 "coalesce(extraction, ?) != ?",
                                 (NO_EXTRACTION, self.extraction))
            run = Run(new_run_id, "new" if last is None else "recrawl", now_iso())
            self._db.execute("INSERT INTO runs (run_id, started_at, outcome, sessions) "
                             "VALUES (?, ?, 'running', 1)", (run.run_id, run.started_at))
        return run

    def reopen(self, run: Run) -> Run:
        """Continue a finished run (new seeds, or a raised --max-pages): it is unfinished again,
        with one more session."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("UPDATE runs SET finished_at = NULL, outcome = 'running', "
                             "sessions = sessions + 1 WHERE run_id = ?", (run.run_id,))
        return Run(run.run_id, "resume", run.started_at, run.sessions + 1)

    def stale_extraction(self) -> int:
        """Pages whose data other extraction settings produced than this crawl's."""
        return self._db.execute(
            f"SELECT count(*) FROM urls WHERE state = {DONE} AND ok = 1 AND "
            "coalesce(extraction, ?) != ?", (NO_EXTRACTION, self.extraction)).fetchone()[0]

    def retryable(self) -> list[int]:
        """Done URLs (as stored) whose last answer was a failure that can pass: a 429 or 5xx,
        or no answer for a reason in RETRYABLE_ERRORS."""
        kinds = ", ".join(f"'{kind}'" for kind in RETRYABLE_ERRORS)
        return [fp for (fp,) in self._db.execute(
            f"SELECT fp FROM urls u WHERE state = {DONE} AND (status = 429 OR status >= 500 OR "
            "(status IS NULL AND error_kind((SELECT error FROM pages p WHERE p.url = u.url "
            f"ORDER BY p.rowid DESC LIMIT 1)) IN ({kinds})))")]

    def requeue(self, fps: Sequence[int]) -> None:
        """Queue these done URLs (as stored) again, in the current run."""
        with self._db:
            self._db.execute("BEGIN")
            in_list(self._db, f"UPDATE urls SET state = {QUEUED} WHERE fp IN ({{keys}})",
                    list(fps))

    def unknown(self, fps: Iterable[int]) -> list[int]:
        """The fingerprints the job has never seen."""
        return [fp for fp in fps if self._db.execute(
            "SELECT 1 FROM urls WHERE fp = ?", (fp_to_sql(fp),)).fetchone() is None]

    def held(self) -> Iterable[Request]:
        """URLs found past --max-pages, shallowest first: queued if a later start allows."""
        rows = self._db.execute(f"SELECT {REQUEST_COLUMNS} FROM urls WHERE state = {HELD} "
                                "ORDER BY depth")
        return (from_row(row) for row in rows)

    def end_run(self, run_id: str, outcome: str, report: dict[str, Any]) -> None:
        """Record how this session of the run ended; `completed` finishes the run."""
        finished = report.get("finished_at") if outcome == "completed" else None
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("UPDATE runs SET outcome = ?, finished_at = ?, report = ? "
                             "WHERE run_id = ?",
                             (outcome, finished, orjson.dumps(report).decode(), run_id))

    # -- loading into a frontier --------------------------------------------------------------

    def known(self) -> Iterable[tuple[int, str, int]]:
        """(fingerprint as stored, url, state) of every URL the job knows."""
        return self._db.execute("SELECT fp, url, state FROM urls")

    def pending(self) -> Iterable[Request]:
        """The URLs queued or leased (in flight when the job stopped), shallowest first."""
        rows = self._db.execute(f"SELECT {REQUEST_COLUMNS} FROM urls WHERE state < {DONE} "
                                "ORDER BY depth")
        return (from_row(row) for row in rows)

    def seed_redirect_targets(self) -> list[str]:
        """Where the seeds redirected to (depth 0 reached by a redirect): their hosts joined
        the scope when the run began, so a resumed run must take them in again."""
        return [url for (url,) in self._db.execute(
            "SELECT url FROM urls WHERE depth = 0 AND redirects > 0")]

    # -- offsets of append-only outputs ---------------------------------------------------------

    def offsets(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT sink, byte_offset FROM sink_offsets"))

    # -- the group commit -----------------------------------------------------------------------

    def carry_forward(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Fill 304 (unchanged) records from the URL's previous record: its title, links,
        data, content... and return its items again, for this run. A page that did not change
        keeps what it said."""
        items: list[dict[str, Any]] = []
        for row in rows:
            if row["status"] != 304:
                continue
            previous = self._db.execute(
                f"SELECT run_id, {', '.join(CARRIED)} FROM pages WHERE url = ? AND run_id != ? "
                "AND status BETWEEN 200 AND 299 ORDER BY rowid DESC LIMIT 1",
                (row["url"], row["run_id"])).fetchone()
            if previous is None:
                continue
            for name, value in zip(CARRIED, previous[1:], strict=True):
                row[name] = orjson.loads(value) if name in JSON_COLUMNS and value else value
            row["items"] = row["items"] or 0
            for index, data in self._db.execute(
                    'SELECT "index", data FROM items WHERE url = ? AND run_id = ? '
                    'ORDER BY "index"', (row["url"], previous[0])):
                items.append({"url": row["url"], "run_id": row["run_id"], "index": index,
                              "fetched_at": row["fetched_at"],
                              "data": orjson.loads(data) if data else None})
        return items

    def commit(self, batch: Batch) -> None:
        """Write one batch in one transaction (called from the writer's worker thread)."""
        done, pruned, finished = [], [], set()
        for row, fp, is_pruned in zip(batch.rows, batch.fps, batch.pruned, strict=True):
            if is_pruned:
                pruned.append((row["url"], row["depth"], row["referrer"], 0, fp_to_sql(fp),
                               PRUNED))
            else:
                finished.add(fp)
                done.append((row["status"], row["fetched_at"], row["etag"],
                             row["last_modified"], row["content_hash"],
                             answer_ok(row["status"]), self.extraction, fp_to_sql(fp)))
        leased = [fp_to_sql(fp) for fp in batch.leased if fp not in finished]
        queued = [(*to_row(request), QUEUED) for request in batch.queued]
        held = [(*to_row(request), HELD) for request in batch.held]
        if self._any_held is None:
            self._any_held = self._db.execute(
                f"SELECT 1 FROM urls WHERE state = {HELD} LIMIT 1").fetchone() is not None
        self._any_held = self._any_held or bool(held)
        released = [fp_to_sql(r.fp) for r in batch.queued] if self._any_held else []
        db = self._db
        with db:
            db.execute("BEGIN")
            run_rows(db, INSERT_QUEUED, queued)
            run_rows(db, INSERT_QUEUED, held)
            in_list(db, RELEASE_HELD, released)  # a held URL the frontier took after all
            in_list(db, UPDATE_LEASED, leased)
            run_rows(db, INSERT_PRUNED, pruned)
            run_rows(db, UPDATE_DONE, done)
            # a URL tried again in the same run (a retried failure) replaces its record
            run_rows(db, UPSERT_PAGE, [page_values(row) for row in batch.rows])
            run_rows(db, INSERT_ITEM, [item_values(item) for item in batch.items])
            db.executemany("INSERT OR REPLACE INTO sink_offsets VALUES (?, ?)",
                           list(batch.offsets.items()))

    # -- what status and the run report read ----------------------------------------------------

    def seeds_answered(self, run_id: str) -> int:
        """Seeds (depth 0) of the run that got an HTTP answer, whatever its status."""
        return self._db.execute("SELECT count(*) FROM pages WHERE run_id = ? AND depth = 0 "
                                "AND status IS NOT NULL", (run_id,)).fetchone()[0]

    def url_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATE_NAMES.values(), 0)
        for state, n in self._db.execute("SELECT state, count(*) FROM urls GROUP BY state"):
            counts[STATE_NAMES[state]] = n
        return counts

    def run_rows(self, run_id: str) -> Iterable[tuple[int | None, str | None, str | None, int]]:
        """(status, change, kind of error, count) grouped, over the records of one run."""
        return self._db.execute("SELECT status, change, error_kind(error), count(*) FROM pages "
                                "WHERE run_id = ? GROUP BY 1, 2, 3", (run_id,))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT run_id, started_at, finished_at, outcome, sessions, "
                                "report FROM runs ORDER BY rowid")
        return [{"run_id": r[0], "started_at": r[1], "finished_at": r[2], "outcome": r[3],
                 "sessions": r[4], "report": orjson.loads(r[5]) if r[5] else None}
                for r in rows]
