"""Sinks: the JSONL file is cut back to what the job committed; SQLite outputs upsert."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.records import Record
from crawler.sinks.jsonl import JsonLinesSink
from crawler.sinks.sqlite import SqliteSink


def rows(*urls: str, run: str = "r1") -> list[dict]:
    return [Record(url=u, depth=0, run_id=run).to_dict() for u in urls]


async def test_jsonl_is_cut_back_to_its_checkpoint(tmp_path: Path) -> None:
    """Lines after the committed checkpoint (a killed run's, even half a line) are dropped on
    open; the checkpoint is the file's length after each batch."""
    path = tmp_path / "out.jsonl"
    sink = JsonLinesSink(path)
    await sink.open(None)
    await sink.write(rows("http://a.com/1"), [])
    committed = sink.checkpoint()
    await sink.write(rows("http://a.com/2"), [])
    await sink.close()
    with path.open("ab") as f:
        f.write(b'{"url": "http://a.com/3", "dep')
    again = JsonLinesSink(path)
    await again.open(committed)
    await again.write(rows("http://a.com/2"), [])
    await again.close()
    lines = path.read_text().splitlines()
    assert [line.split('"url":"')[1].split('"')[0] for line in lines] == [
        "http://a.com/1", "http://a.com/2"]
    assert again.checkpoint() == path.stat().st_size


async def test_sqlite_output_keeps_one_row_per_url_and_run(tmp_path: Path) -> None:
    """A batch written again (after a crash before its commit) replaces itself; another run's
    record of the same URL is kept beside it."""
    sink = SqliteSink(tmp_path / "out.db")
    await sink.open()
    await sink.write(rows("http://a.com/1", "http://a.com/2"), [])
    await sink.write(rows("http://a.com/2"), [])
    await sink.write(rows("http://a.com/2", run="r2"), [])
    await sink.close()
    with sqlite3.connect(tmp_path / "out.db") as db:
        found = db.execute("SELECT run_id, url FROM pages ORDER BY run_id, url").fetchall()
    assert found == [("r1", "http://a.com/1"), ("r1", "http://a.com/2"),
                     ("r2", "http://a.com/2")]
