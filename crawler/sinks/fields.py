"""`--fields url,status,data.title`: the record fields a CSV or JSON Lines output keeps, in that
order (Scrapy's FEED_EXPORT_FIELDS). A field is a record field (docs/records.md) or `NAME.KEY`
for a key of an object field (`data`, `structured`, `headers`). A JSON Lines record keeps the
record's shape (`{"url": ..., "data": {"title": ...}}`); a CSV has one column per field, named as
given. Items files are not affected.
"""

from __future__ import annotations

from typing import Any

from crawler.errors import UsageError
from crawler.records import RECORD_FIELDS
from crawler.sinks.base import Row

OBJECT_FIELDS = ("data", "structured", "headers")


def chosen_fields(spec: str) -> tuple[str, ...]:
    """The fields `--fields` names, in order, each once; () for every field. UsageError
    naming the first it does not know."""
    fields = tuple(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
    for name in fields:
        head, dot, key = name.partition(".")
        if head not in RECORD_FIELDS or (dot and (head not in OBJECT_FIELDS or not key)):
            raise UsageError(
                f"--fields: unknown field {name!r} (a record field such as url, status, title, "
                f"or {', '.join(f'{n}.KEY' for n in OBJECT_FIELDS)})")
    return fields


def field_value(row: Row, name: str) -> Any:
    """The value of one chosen field in a record row."""
    head, dot, key = name.partition(".")
    value = row.get(head)
    if not dot:
        return value
    return value.get(key) if isinstance(value, dict) else None


def picked(row: Row, fields: tuple[str, ...]) -> Row:
    """The record with only `fields`, nested as in the record."""
    out: Row = {}
    for name in fields:
        head, dot, key = name.partition(".")
        if dot:
            out.setdefault(head, {})[key] = field_value(row, name)
        else:
            out[head] = row.get(head)
    return out
