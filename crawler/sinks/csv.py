"""CSV sink (`-o out.csv`): a header row, then one row per record; items in `out.items.csv`.

UTF-8, RFC 4180 quoting (every line ends with CRLF), so the file opens in a spreadsheet. Record
columns: the record's scalar fields, then `data.NAME` for each rules field (`data` as JSON text
when a function, not rules, fills it). Item columns: url, run_id, index, fetched_at, then the
first item's keys, then `extra` (JSON of any key the header lacks). Lists and objects are
written as JSON text, null as an empty cell. A text cell that starts with =, +, -, @, a tab
or a CR gets a leading ' so a spreadsheet shows it instead of running it as a formula
(--no-csv-escape-formulas writes it as it is).

Exactly-once as JSON Lines is (crawler.sinks.append): the header is part of the committed
length. A file that already has a header keeps its columns, so a resumed or later run appends
rows that fit it.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import orjson

from crawler.errors import UsageError
from crawler.records import ITEM_FIELDS, RECORD_FIELDS
from crawler.sinks.append import AppendOnlyFile
from crawler.sinks.base import Row
from crawler.sinks.fields import field_value

RECORD_COLUMNS = tuple(name for name in RECORD_FIELDS if name not in ("links", "data"))
ITEM_COLUMNS = tuple(name for name in ITEM_FIELDS if name != "data")
EXTRA = "extra"
_ITEM_OWN = frozenset({*ITEM_COLUMNS, EXTRA})  # item keys with these names go to `extra`


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def cell(value: Any, escape_formulas: bool = True) -> Any:
    """A value as a CSV cell: lists and objects as JSON text, None empty; text a spreadsheet
    would take for a formula gets a leading ' (OWASP's CSV injection advice)."""
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        value = orjson.dumps(value).decode()
    if escape_formulas and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvSink:
    """`items=False`: the records file; `items=True`: the items file, made on the first item."""

    def __init__(self, path: Path, data_columns: list[str] | None = None,
                 items: bool = False, escape_formulas: bool = True,
                 fields: tuple[str, ...] = ()) -> None:
        self.path = path
        self.fields = () if items else fields  # --fields: the columns (crawler.sinks.fields)
        self.escape_formulas = escape_formulas
        self.items = items
        self.name = str(path.absolute())
        self.data_columns = data_columns
        self.columns: list[str] | None = None  # the header, once known
        self._out = AppendOnlyFile(path)
        self._checkpoint: int | None = None

    async def open(self, checkpoint: int | None = None) -> None:
        self._checkpoint = checkpoint
        if not self.items or self.path.exists():
            self._open()

    def _open(self) -> None:
        self._out.open(self._checkpoint)
        if self._out.size:
            first = self._out.head().decode("utf-8", "replace").splitlines()[:1]
            self.columns = next(csv.reader(first), None) if first else None

    def check_fields(self) -> None:
        """UsageError, before the crawl, when the file already has a header that --fields
        does not match (one file, one header)."""
        if not self.fields or not self.path.is_file():
            return
        with self.path.open(newline="", encoding="utf-8", errors="replace") as stream:
            header = next(csv.reader(stream), None)
        if header is not None and header != list(self.fields):
            raise UsageError(f"output {self.path} has the columns {','.join(header)}; "
                             f"--fields asks for {','.join(self.fields)}: give another file")

    def _header(self, first: Row | None) -> list[str]:
        if self.fields:
            return list(self.fields)
        if self.items:
            data = first["data"] if first and isinstance(first["data"], dict) else {}
            return [*ITEM_COLUMNS, *(k for k in data if k not in _ITEM_OWN), EXTRA]
        if self.data_columns is None:
            return [*RECORD_COLUMNS, "data"]
        return [*RECORD_COLUMNS, *(f"data.{name}" for name in self.data_columns)]

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        chosen = items if self.items else rows
        if not chosen:
            return
        if not self._out.is_open:
            self._open()
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, quotes where needed
        if self.columns is None:
            self.columns = self._header(chosen[0])
            writer.writerow(self.columns)
        for row in chosen:
            writer.writerow(self._cells(row))
        await asyncio.to_thread(self._out.append, buffer.getvalue().encode("utf-8"))

    def _cells(self, row: Row) -> list[Any]:
        assert self.columns is not None
        data = row.get("data")
        if self.items:
            values = {name: row[name] for name in ITEM_COLUMNS}
            if isinstance(data, dict):
                columns = set(self.columns) - _ITEM_OWN
                values.update({k: v for k, v in data.items() if k in columns})
                values[EXTRA] = {k: v for k, v in data.items() if k not in columns} or None
        elif self.fields:
            values = {name: field_value(row, name) for name in self.fields}
        else:
            values = dict(row)
            if isinstance(data, dict) and self.data_columns is not None:
                values.update({f"data.{key}": value for key, value in data.items()})
        return [cell(values.get(column), self.escape_formulas) for column in self.columns]

    def checkpoint(self) -> int | None:
        return self._out.size

    async def close(self) -> None:
        self._out.close()
