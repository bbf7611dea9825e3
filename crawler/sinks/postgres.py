"""PostgreSQL sink (`-o postgresql://USER@HOST:PORT/DB`): records in a `pages` table, one row per
(job, url, run_id), and the items pages yield in an `items` table (job, url, run_id, index),
so a batch written again (a worker killed after writing, before its ack) replaces itself. Each
batch is COPYed into a temporary table and upserted from there in one transaction. The schema
is created, or migrated to the current record schema, on open.

PostgreSQL being unreachable (down, restarting, a network blip) is retried with backoff for up
to `outage_seconds`: the writer waits, the crawl behind it pauses, and no record is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import orjson

from crawler.records import RECORD_FIELDS, SCHEMA_VERSION
from crawler.sinks.base import Row, SinkError
from crawler.util.outage import Outage

log = logging.getLogger(__name__)
T = TypeVar("T")
TABLE = "pages"
_TYPES = {"depth": "integer", "status": "integer", "fetched_at": "timestamptz",
          "elapsed_ms": "integer", "content_length": "bigint", "truncated": "boolean",
          "links_found": "integer", "links": "jsonb", "redirects": "integer",
          "attempts": "integer", "noindex": "boolean", "nofollow": "boolean",
          "schema_version": "integer", "data": "jsonb", "items": "integer",
          "headers": "jsonb", "rendered": "boolean", "render_ms": "integer",
          "structured": "jsonb"}
JSON_COLUMNS = frozenset({"links", "data", "headers", "structured"})
CREATE_ITEMS = ('CREATE TABLE IF NOT EXISTS items (job text NOT NULL, url text NOT NULL, '
                'run_id text NOT NULL, "index" integer NOT NULL, fetched_at timestamptz, '
                'data jsonb, PRIMARY KEY (job, url, run_id, "index"))')
# a page written again (a worker killed after writing, before its ack) replaces its items
DELETE_ITEMS = ("DELETE FROM items USING incoming WHERE items.job = incoming.job "
                "AND items.url = incoming.url AND items.run_id = incoming.run_id")
INSERT_ITEM = ('INSERT INTO items (job, url, run_id, "index", fetched_at, data) '
               "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job, url, run_id, \"index\") "
               "DO UPDATE SET fetched_at = excluded.fetched_at, data = excluded.data")
COLUMNS = ("job", *RECORD_FIELDS)
CREATE_INCOMING = (f"CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE {TABLE}) "
                   "ON COMMIT DELETE ROWS")
# The batch's rows, each (job, url, run_id) once (the latest fetch), replace what is stored.
UPSERT_INCOMING = (
    f"INSERT INTO {TABLE} SELECT DISTINCT ON (job, url, run_id) * FROM incoming "
    "ORDER BY job, url, run_id, fetched_at DESC ON CONFLICT (job, url, run_id) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in RECORD_FIELDS if n not in ("url", "run_id")))
_SCHEMA_LOCK = 0x63726177  # advisory lock id: workers starting together migrate one at a time
# Connection trouble is worth waiting out; anything else (a bad password, no such database, a
# constraint) is an error to report at once. InternalClientError is how asyncpg reports a
# connection that an outage cut off mid-operation and the pool handed out again
# (MagicStack/asyncpg#784): after any of these the whole pool is replaced.
TRANSIENT = (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError,
             asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.CannotConnectNowError,
             asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)


def redacted(dsn: str) -> str:
    """The DSN without its password, for messages and the outputs list."""
    scheme, sep, rest = dsn.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return dsn
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{hostpart}"


def _item_values(job: str, item: Row) -> tuple[Any, ...]:
    data = item["data"]
    return (job, item["url"], item["run_id"], item["index"],
            datetime.fromisoformat(item["fetched_at"]),
            None if data is None else orjson.dumps(data).decode())


def _column_sql(name: str) -> str:
    return f"{name} {_TYPES.get(name, 'text')}"


def _row_values(job: str, row: Row) -> tuple[Any, ...]:
    values: list[Any] = [job]
    for name in RECORD_FIELDS:
        value = row[name]
        if name in JSON_COLUMNS and value is not None:
            value = orjson.dumps(value).decode()
        elif name == "fetched_at":
            value = datetime.fromisoformat(value)
        values.append(value)
    return tuple(values)


class PostgresSink:
    """Writes batches with COPY + upsert through an asyncpg pool of `pool_size` connections."""

    def __init__(self, dsn: str, job: str, pool_size: int = 4,
                 outage_seconds: float = 300.0) -> None:
        self.dsn = dsn
        self.job = job
        self.name = redacted(dsn)
        self.pool_size = pool_size
        self._outage = Outage(outage_seconds, first_pause=0.1, longest_pause=5.0)
        self._pool: asyncpg.Pool | None = None
        self.retries = 0  # transient failures waited out (for tests and the log)

    async def open(self, checkpoint: int | None = None) -> None:
        """Connect and create or migrate the schema; waits out an unreachable server."""
        await self._retrying("connect to", self._connect)
        await self._retrying("prepare the schema in", self._migrate)

    async def _connect(self) -> asyncpg.Pool:
        """The pool, made anew after a failure threw the last one away."""
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                                   command_timeout=60)
        return self._pool

    async def _migrate(self) -> None:
        pool = await self._connect()
        async with pool.acquire() as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            await db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (job text NOT NULL, "
                + ", ".join(_column_sql(n) for n in RECORD_FIELDS)
                + ", PRIMARY KEY (job, url, run_id))")
            for name in RECORD_FIELDS:  # columns a newer record schema brought
                await db.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS "
                                 f"{_column_sql(name)}")
            await db.execute(CREATE_ITEMS)
            await db.execute("CREATE TABLE IF NOT EXISTS crawler_schema "
                             "(name text PRIMARY KEY, version integer NOT NULL)")
            await db.execute("INSERT INTO crawler_schema VALUES ($1, $2) ON CONFLICT (name) DO "
                             "UPDATE SET version = greatest(crawler_schema.version, $2)",
                             TABLE, SCHEMA_VERSION)

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        values = [_row_values(self.job, row) for row in rows]
        item_values = [_item_values(self.job, item) for item in items]
        await self._retrying("write to", lambda: self._upsert(values, item_values))

    async def _upsert(self, values: list[tuple[Any, ...]],
                      items: list[tuple[Any, ...]]) -> None:
        pool = await self._connect()
        async with pool.acquire() as db, db.transaction():
            await db.execute(CREATE_INCOMING)
            await db.copy_records_to_table("incoming", records=values, columns=COLUMNS)
            await db.execute(UPSERT_INCOMING)
            await db.execute(DELETE_ITEMS)
            if items:
                await db.executemany(INSERT_ITEM, items)

    def checkpoint(self) -> int | None:
        return None  # idempotent: nothing to remember

    def _discard_pool(self) -> None:
        """Drop every connection at once: after a failure none of them can be trusted."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.terminate()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`, waiting out connection failures with backoff for up to outage_seconds;
        SinkError with the reason after that, or at once for any other error."""
        outage, attempt = self._outage, 0
        while True:
            try:
                result = await call()
            except TRANSIENT as exc:
                self._discard_pool()
                reason = f"{type(exc).__name__}: {exc}"
                if outage.began():
                    log.warning("cannot %s PostgreSQL at %s (%s): the crawl is paused, "
                                "retrying for up to %gs", what, self.name, reason, outage.limit)
                if outage.over_limit():
                    raise SinkError(f"cannot {what} PostgreSQL at {self.name}: {reason} "
                                    f"(waited {outage.limit:g}s, --outage-seconds)") from None
                self.retries += 1
                await outage.pause(attempt)
                attempt += 1
                continue
            except asyncpg.PostgresError as exc:
                raise SinkError(f"cannot {what} PostgreSQL at {self.name}: {exc}") from None
            lasted = outage.ended()
            if lasted is not None:
                log.warning("PostgreSQL at %s is back after %.1fs", self.name, lasted)
            return result
