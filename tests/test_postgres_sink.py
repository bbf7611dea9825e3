"""The PostgreSQL sink against a real PostgreSQL: schema created and migrated on open, batches
upserted idempotently per (job, url, run_id), clear errors for a server that is down or a
database that does not exist; and a one-process crawl with -o postgresql://."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from crawler.records import RECORD_FIELDS, Record
from crawler.sinks import SinkError
from crawler.sinks.postgres import PostgresSink, redacted
from tests.real_servers import PostgresServer, free_port
from tests.site import Site

pytestmark = pytest.mark.system


def row(url: str, title: str = "t", run_id: str = "r1") -> dict[str, object]:
    record = Record(url=url, depth=0, run_id=run_id, status=200, title=title,
                    links=["http://a.test/x"])
    return record.to_dict()


async def fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    db = await asyncpg.connect(dsn)
    try:
        return await db.fetch(sql)
    finally:
        await db.close()


def test_passwords_never_show_in_names() -> None:
    """The sink's name (in logs, errors, the outputs list) hides the password."""
    assert redacted("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redacted("postgresql://u@h/db") == "postgresql://u@h/db"


async def test_batches_upsert_once_per_job_url_and_run(pg_dsn: str) -> None:
    """A batch written twice (a worker died before its ack) leaves one row per URL, holding the
    later write; another job or run keeps rows of its own; links are JSON."""
    sink = PostgresSink(pg_dsn, "job-a")
    await sink.open()
    await sink.write([row("http://a.test/1", "old"), row("http://a.test/2")], [])
    await sink.write([row("http://a.test/1", "new")], [])
    await sink.close()
    other = PostgresSink(pg_dsn, "job-b")
    await other.open()
    await other.write([row("http://a.test/1"), row("http://a.test/1", run_id="r2")], [])
    await other.close()
    rows = await fetch(pg_dsn, "SELECT job, url, run_id, title, links->>0 AS link FROM pages")
    assert sorted((r["job"], r["url"], r["run_id"]) for r in rows) == [
        ("job-a", "http://a.test/1", "r1"), ("job-a", "http://a.test/2", "r1"),
        ("job-b", "http://a.test/1", "r1"), ("job-b", "http://a.test/1", "r2")]
    assert {r["title"] for r in rows if r["job"] == "job-a" and r["url"].endswith("/1")} == {
        "new"}
    assert {r["link"] for r in rows} == {"http://a.test/x"}


async def test_an_older_table_is_migrated_on_open(pg_dsn: str) -> None:
    """A pages table from an older record schema gets the newer columns; its rows stay."""
    db = await asyncpg.connect(pg_dsn)
    await db.execute("CREATE TABLE pages (job text NOT NULL, url text NOT NULL, run_id text, "
                     "status integer, PRIMARY KEY (job, url, run_id))")
    await db.execute("INSERT INTO pages VALUES ('j', 'http://old.test/', 'r0', 200)")
    await db.close()
    sink = PostgresSink(pg_dsn, "j")
    await sink.open()
    await sink.write([row("http://a.test/1")], [])
    await sink.close()
    columns = {r["column_name"] for r in await fetch(
        pg_dsn, "SELECT column_name FROM information_schema.columns WHERE table_name='pages'")}
    assert columns == {"job", *RECORD_FIELDS}
    version = await fetch(pg_dsn, "SELECT version FROM crawler_schema WHERE name = 'pages'")
    assert version[0]["version"] == Record.__dataclass_fields__["schema_version"].default
    assert len(await fetch(pg_dsn, "SELECT url FROM pages")) == 2


async def test_an_unreachable_server_is_waited_for_then_named() -> None:
    """Nothing listening: the sink retries for outage_seconds, then fails with one clear
    message naming the server (without its password) and how long it waited."""
    dsn = f"postgresql://crawler:pw@127.0.0.1:{free_port()}/db"
    sink = PostgresSink(dsn, "j", outage_seconds=0.5)
    with pytest.raises(SinkError) as caught:
        await sink.open()
    message = str(caught.value)
    assert message.startswith(f"cannot connect to PostgreSQL at {redacted(dsn)}: ")
    assert "waited 0.5s, --outage-seconds" in message and "pw" not in message
    assert sink.retries >= 2


async def test_a_missing_database_fails_at_once(pg_server: PostgresServer) -> None:
    """A database that does not exist is not an outage: the error comes at once."""
    sink = PostgresSink(pg_server.dsn("no_such_db"), "j", outage_seconds=60)
    with pytest.raises(SinkError, match='database "no_such_db" does not exist'):
        await sink.open()
    assert sink.retries == 0


async def test_a_one_process_crawl_writes_to_postgresql(site: Site, crawl: Any,
                                                        pg_dsn: str) -> None:
    """`python -m crawler seeds -o postgresql://...` without workers: one row per page, under
    the job name."""
    site.page("/", "/a", "/b")
    site.page("/a", "/")
    site.page("/b")
    await crawl([site.url("/")], outputs=[pg_dsn], job_name="solo")
    rows = await fetch(pg_dsn, "SELECT job, url, status FROM pages ORDER BY url")
    assert [(r["job"], r["url"], r["status"]) for r in rows] == [
        ("solo", site.url("/"), 200), ("solo", site.url("/a"), 200),
        ("solo", site.url("/b"), 200)]
    assert set(site.page_hits().values()) == {1}  # the upsert key would hide a double fetch


async def test_a_connection_corrupted_mid_operation_costs_the_pool_not_the_batch(
        pg_dsn: str) -> None:
    """asyncpg's InternalClientError ('cannot switch to state ...; another operation is in
    progress') is what a connection cut off mid-COPY gives when the pool hands it out again
    (MagicStack/asyncpg#784, seen here once during a PostgreSQL outage). The sink treats it as
    an outage: it throws the whole pool away and writes the batch through a new one."""
    sink = PostgresSink(pg_dsn, "j", outage_seconds=5)
    await sink.open()
    first_pool = sink._pool
    real_upsert = sink._upsert
    failures = iter([asyncpg.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress")])

    async def upsert_once_corrupted(values: list[tuple[Any, ...]],
                                    items: list[tuple[Any, ...]]) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        await real_upsert(values, items)

    sink._upsert = upsert_once_corrupted  # type: ignore[method-assign]
    await sink.write([row("http://a.test/1")], [])
    assert sink.retries == 1 and sink._pool is not None and sink._pool is not first_pool
    await sink.close()
    assert [r["url"] for r in await fetch(pg_dsn, "SELECT url FROM pages")] == [
        "http://a.test/1"]


async def test_data_and_items_reach_postgresql(site: Site, crawl: Any, pg_dsn: str) -> None:
    """data is jsonb, items are rows of their own; a page written again replaces its items
    (fewer this time: none is left over)."""
    site.page("/", extra="<div class=quote><span class=text>a</span><small>b</small></div>"
                         "<div class=quote><span class=text>c</span><small>d</small></div>")
    await crawl([site.url("/")], outputs=[pg_dsn], job_name="scrape",
                extractor="tests.extractors:quotes")
    items = await fetch(pg_dsn, 'SELECT url, "index", data FROM items ORDER BY "index"')
    assert [(r["index"], json.loads(r["data"])) for r in items] == [
        (0, {"text": "a", "author": "b"}), (1, {"text": "c", "author": "d"})]
    sink = PostgresSink(pg_dsn, "scrape")
    await sink.open()
    page = (await fetch(pg_dsn, "SELECT url, run_id FROM pages"))[0]
    again = Record(url=page["url"], depth=0, run_id=page["run_id"], status=200,
                   data={"x": [1, "y"]})
    item = {"url": page["url"], "run_id": page["run_id"], "index": 0,
            "fetched_at": again.fetched_at, "data": {"only": True}}
    await sink.write([again.to_dict()], [item])
    await sink.close()
    assert [json.loads(r["data"]) for r in await fetch(pg_dsn, "SELECT data FROM items")] == [
        {"only": True}]
    stored = await fetch(pg_dsn, "SELECT data FROM pages")
    assert json.loads(stored[0]["data"]) == {"x": [1, "y"]}
