"""The page record: exactly one per URL the crawler tried, in a documented, versioned schema."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from crawler.util.exchange import Exchange
from crawler.util.textsafe import safe_text, safe_value

log = logging.getLogger(__name__)

SCHEMA_VERSION = 6  # 3: data, content, items; 4: simhash, near_duplicate_of; 5: rendered,
# render_ms, render_error; 6: structured


@dataclass(slots=True)
class Record:
    """What happened to one URL. docs/records.md documents every field."""

    url: str
    depth: int
    run_id: str
    referrer: str | None = None
    final_url: str | None = None
    status: int | None = None
    fetched_at: str = field(default_factory=lambda: now_iso())
    elapsed_ms: int | None = None
    content_type: str | None = None
    ip: str | None = None  # the server's address the answer came from
    headers: dict[str, str] | None = None  # every response header (--record-headers)
    content_length: int | None = None
    truncated: bool = False
    title: str | None = None
    links_found: int = 0
    links: list[str] = field(default_factory=list)
    redirects: int = 0
    attempts: int = 0
    noindex: bool = False
    nofollow: bool = False
    canonical_url: str | None = None
    change: str | None = None  # new, changed, unchanged or gone, against the job's last run
    content_hash: str | None = None
    simhash: str | None = None  # 64-bit simhash of the page's text, 16 hex digits
    near_duplicate_of: str | None = None  # --skip-near-duplicates: the page this one nearly is
    rendered: bool = False  # links, data and content come from the page as Chromium built it
    render_ms: int | None = None  # how long rendering took, when the page was rendered
    render_error: str | None = None  # why rendering was cut short or failed (--render)
    etag: str | None = None
    last_modified: str | None = None
    data: dict[str, Any] | None = None  # what the extraction rules or function found
    content: str | None = None  # the page's main content (--content)
    structured: dict[str, Any] | None = None  # JSON-LD, microdata, OpenGraph (--structured-data)
    items: int = 0  # how many items the page yielded (they are stored as rows of their own)
    error: str | None = None
    schema_version: int = SCHEMA_VERSION
    item_data: list[dict[str, Any]] = field(default_factory=list)  # not a column: the items
    exchange: Exchange | None = None  # not a column: the HTTP exchange, for WARC outputs

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict (its lists are shared, not copied)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Record)
                                       if f.name not in ("item_data", "exchange"))
ITEM_FIELDS: tuple[str, ...] = ("url", "run_id", "index", "fetched_at", "data")
_KEPT_WHEN_UNSTORABLE = ("url", "depth", "run_id", "referrer", "final_url", "status",
                         "fetched_at", "elapsed_ms", "redirects", "attempts")
_NUL_ESCAPE = b"\\u0000"


def storable_dict(record: Record) -> dict[str, Any]:
    """The record as a dict every output can store. The sources make network strings safe
    (crawler.util.textsafe); this is the last line of defence: a record that still does not encode
    is repaired, or failing that becomes an error record, so one page never stops a batch."""
    row = record.to_dict()
    try:
        if _NUL_ESCAPE not in orjson.dumps(row):
            return row
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        pass
    row = safe_value(row)
    try:
        orjson.dumps(row)
        return row
    except (TypeError, ValueError) as exc:
        problem = safe_text(str(exc))
    log.warning("record of %s cannot be stored (%s): kept as an error record", row["url"],
                problem)
    kept = {name: row[name] for name in _KEPT_WHEN_UNSTORABLE}
    fallback = Record(**kept)  # type: ignore[arg-type]
    fallback.error = f"record not storable: {problem}"
    return fallback.to_dict()


def storable_items(record: Record) -> list[dict[str, Any]]:
    """The record's items as rows (page URL, run, index, fetch time, data), each storable: an
    item no output can encode is repaired, or replaced by {"error": ...}."""
    rows = []
    for index, data in enumerate(record.item_data):
        try:
            if _NUL_ESCAPE in orjson.dumps(data):
                data = safe_value(data)
        except (TypeError, ValueError):
            data = safe_value(data)
            try:
                orjson.dumps(data)
            except (TypeError, ValueError) as exc:
                data = {"error": f"item not storable: {safe_text(str(exc))}"}
        rows.append({"url": record.url, "run_id": record.run_id, "index": index,
                     "fetched_at": record.fetched_at, "data": data})
    return rows


_second: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def now_iso() -> str:
    """The current UTC time in ISO 8601 with milliseconds, e.g. 2026-11-22T01:02:03.456Z (one
    per record: the seconds are formatted once a second)."""
    now = time.time()
    second = int(now)
    if second != _second[0]:
        _second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second[1]}.{min(999, int((now - second) * 1000)):03d}Z"


CHANGES = ("new", "changed", "unchanged", "gone")
_ERROR_KINDS = ("timeout", "connection failed", "server disconnected", "incomplete body",
                "undecodable body",
                "bad response", "address guard", "trap", "disallowed by robots.txt",
                "robots.txt unreachable", "host asked to wait", "host asked for Crawl-delay",
                "host unreachable",
                "too many redirects", "bad redirect", "internal error", "parse",
                "record not storable", "extract failed", "data cut", "sitemap")


def error_kind(error: str | None) -> str | None:
    """The kind of a record's error, for counting: its stable leading words."""
    if error is None:
        return None
    for kind in _ERROR_KINDS:
        if error.startswith(kind):
            return kind
    return "other"
