"""Never die on a byte: header bytes that are not UTF-8, NUL and lone surrogates reach no output
as they are, and a record that cannot be stored costs that record, never the batch or the job."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from crawler.records import Record, storable_dict
from crawler.util.textsafe import safe_text, url_from_header
from tests.conftest import by_url
from tests.raw_site import RawSite, response

PAGE = b"<html><head><title>ok</title></head><body><a href='/next'>next</a></body></html>"


@pytest.fixture
async def raw_site() -> AsyncIterator[RawSite]:
    site = RawSite()
    await site.start()
    yield site
    await site.stop()


def serve_bad_headers(site: RawSite) -> None:
    html = (b"Content-Type", b"text/html; charset=utf-8")
    site.responses["/"] = response("200 OK", [html], (
        b"<a href='/etag'>1</a><a href='/modified'>2</a><a href='/type'>3</a>"
        b"<a href='/moved'>4</a><a href='/tagged'>5</a>"))
    site.responses["/etag"] = response("200 OK", [html, (b"ETag", b'"caf\xe9"')], PAGE)
    site.responses["/modified"] = response("200 OK", [html, (b"Last-Modified", b"\xe9t\xe9")],
                                           PAGE)
    site.responses["/type"] = response("200 OK", [(b"Content-Type", b"text/\xe9; a=\xff")], PAGE)
    site.responses["/moved"] = response("301 Moved", [(b"Location", b"/caf\xe9?q=\xff")])
    site.responses["/caf%E9?q=%FF"] = response("200 OK", [html], PAGE)
    site.responses["/tagged"] = response("200 OK", [html, (b"X-Robots-Tag", b"noindex, \xe9")],
                                         PAGE)
    site.responses["/next"] = response("200 OK", [html], PAGE)


async def test_header_bytes_that_are_not_utf8_never_stop_the_crawl(raw_site: RawSite, crawl: Any,
                                                                   tmp_path: Path) -> None:
    """A byte such as 0xE9 in ETag, Last-Modified, Content-Type, Location or X-Robots-Tag
    reaches every output repaired; the redirect is followed to the percent-encoded target; a
    recrawl of the same job runs as well."""
    serve_bad_headers(raw_site)
    db = tmp_path / "out.db"
    job = str(tmp_path / "job")
    jsonl = tmp_path / "a.jsonl"
    await crawl([raw_site.url("/")], outputs=[str(jsonl), str(db)], job_dir=job)
    records = by_url([json.loads(line) for line in jsonl.read_text().splitlines()])
    assert all(r["error"] is None for r in records.values()), records
    moved = records[raw_site.url("/moved")]
    assert moved["status"] == 301 and moved["final_url"] == raw_site.url("/caf%E9?q=%FF")
    assert records[raw_site.url("/caf%E9?q=%FF")]["status"] == 200
    assert records[raw_site.url("/etag")]["etag"] is None  # not sendable back as received
    assert records[raw_site.url("/type")]["content_type"] == "text/\ufffd; a=\ufffd"
    assert records[raw_site.url("/tagged")]["noindex"] is True
    assert records[raw_site.url("/next")]["status"] == 200
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM pages").fetchone()[0]
    assert stored == len(records) == 8
    await crawl([raw_site.url("/")], job_dir=job, recrawl="true", outputs=[str(jsonl)])
    again = [json.loads(line) for line in jsonl.read_text().splitlines()][8:]
    assert len(again) == 8 and all(r["error"] is None for r in again)


def test_safe_text_repairs_escaped_bytes_surrogates_and_nul() -> None:
    """Escaped bytes become U+FFFD, valid text is kept, NUL is replaced."""
    assert safe_text("caf\udce9") == "caf\ufffd"
    assert safe_text("caf\u00e9 \u2603") == "caf\u00e9 \u2603"
    assert safe_text("a\x00b") == "a\ufffdb"
    assert safe_text("\ud800x") == "?x"
    assert url_from_header("/caf\udce9") == "/caf%E9"
    assert url_from_header("/caf\u00e9") == "/caf\u00e9"


def test_a_record_that_cannot_be_stored_becomes_an_error_record() -> None:
    """Strings are repaired in place; a value no output can encode turns the record into an
    error record that keeps its URL and status."""
    dirty = Record(url="http://a/", depth=0, run_id="r", title="t\udce9\x00", status=200)
    row = storable_dict(dirty)
    assert row["title"] == "t\ufffd\ufffd" and row["error"] is None
    broken = Record(url="http://a/x", depth=1, run_id="r", status=200)
    broken.links = [object()]  # type: ignore[list-item]
    row = storable_dict(broken)
    assert row["url"] == "http://a/x" and row["status"] == 200 and row["links"] == []
    assert row["error"].startswith("record not storable: ")
    json.dumps(row)


@pytest.mark.system
async def test_postgresql_gets_repaired_strings(raw_site: RawSite, crawl: Any,
                                               pg_dsn: str) -> None:
    """PostgreSQL refuses lone surrogates and NUL in text and jsonb; the records arrive."""
    serve_bad_headers(raw_site)
    raw_site.responses["/next"] = response(
        "200 OK", [(b"Content-Type", b"text/html; charset=utf-8")],
        b"<title>nul \x00 here</title>")
    await crawl([raw_site.url("/")], outputs=[pg_dsn], job_name="bytes")
    connection = await asyncpg.connect(pg_dsn)
    try:
        rows = await connection.fetch("SELECT url, title, error FROM pages")
    finally:
        await connection.close()
    assert len(rows) == 8 and all(row["error"] is None for row in rows)


async def test_stacked_content_encodings_are_decoded_within_the_cap(raw_site: RawSite,
                                                                    crawl: Any) -> None:
    """gzip twice (one header line or two) is decoded to the page; a stacked bomb stops at the
    body cap; a layer that is not what the header says is an error, not a clean record."""
    html = (b"Content-Type", b"text/html; charset=utf-8")
    twice = gzip.compress(gzip.compress(PAGE))
    raw_site.responses["/"] = response("200 OK", [html], (
        b"<a href='/one-line'>1</a><a href='/two-lines'>2</a><a href='/bomb'>3</a>"
        b"<a href='/lying'>4</a>"))
    raw_site.responses["/one-line"] = response(
        "200 OK", [html, (b"Content-Encoding", b"gzip, gzip")], twice)
    raw_site.responses["/two-lines"] = response(
        "200 OK", [html, (b"Content-Encoding", b"gzip"), (b"Content-Encoding", b"gzip")], twice)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(64)) + packer.flush()
    raw_site.responses["/bomb"] = response(
        "200 OK", [html, (b"Content-Encoding", b"gzip, gzip")], gzip.compress(bomb))
    raw_site.responses["/lying"] = response(
        "200 OK", [html, (b"Content-Encoding", b"gzip, gzip")], gzip.compress(PAGE))
    records = by_url(await crawl([raw_site.url("/")], max_body_bytes=1_000_000))
    for path in ("/one-line", "/two-lines"):
        record = records[raw_site.url(path)]
        assert record["title"] == "ok" and record["links"] == [raw_site.url("/next")], record
    bomb_record = records[raw_site.url("/bomb")]
    assert bomb_record["truncated"] is True and bomb_record["content_length"] == 1_000_000
    lying = records[raw_site.url("/lying")]
    assert lying["error"].startswith("undecodable body: Content-Encoding gzip")
    assert raw_site.hits["/lying"] == 1  # not retried: it would fail the same way
