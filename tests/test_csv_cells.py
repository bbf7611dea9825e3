"""CSV cells: text a spreadsheet would run as a formula is escaped (on by default), and item
keys the header lacks go to `extra`, never lost."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from crawler.sinks.csv import CsvSink, cell


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_formula_cells_get_a_leading_quote_unless_asked_not_to() -> None:
    for text in ("=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert cell(text) == "'" + text
        assert cell(text, escape_formulas=False) == text
    assert cell("plain") == "plain" and cell(-5) == -5 and cell(None) == ""
    assert cell(["=1"]) == '["=1"]'  # JSON text starts with [


def test_items_and_records_in_csv_escape_formulas_and_keep_extra_keys(tmp_path: Path) -> None:
    """A record titled =cmd|' /C calc'!A0 and items with formula values: every such cell is
    escaped; a key the first item lacked lands in `extra`, with its value."""
    records, items = CsvSink(tmp_path / "out.csv"), CsvSink(tmp_path / "out.items.csv",
                                                           items=True)

    async def write() -> None:
        for sink in (records, items):
            await sink.open()
            row = {"url": "http://a.example/", "title": "=cmd|' /C calc'!A0", "data": None}
            item_rows = [{"url": "http://a.example/", "run_id": "r", "index": i,
                          "fetched_at": "t", "data": data}
                         for i, data in enumerate([{"name": "+x"}, {"name": "ok",
                                                                    "price": "@9"}])]
            await sink.write([row], item_rows)
            await sink.close()

    asyncio.run(write())
    header, first = rows(tmp_path / "out.csv")
    assert first[header.index("title")] == "'=cmd|' /C calc'!A0"
    header, one, two = rows(tmp_path / "out.items.csv")
    assert header[-2:] == ["name", "extra"]
    assert one[-2:] == ["'+x", ""]
    assert two[-2:] == ["ok", '{"price":"@9"}']
