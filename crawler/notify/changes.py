"""What a change notification says about one page: its URL, the kind of change, and for a
changed page a unified diff of its `content` and the `data` fields that differ."""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

NOTIFIED = ("new", "changed", "gone")  # `unchanged` pages are not sent
MAX_TEXT_CHARS = 256 << 10  # of each side of a content diff
MAX_DIFF_CHARS = 64 << 10  # of a diff; a longer one is cut and says so
DIFF_CONTEXT = 2  # lines around each changed line


def change_id(job_id: str, run_id: str, url: str) -> str:
    """One id per page and run: a delivery sent again (after a crash) carries the same ids,
    so a receiver keeps each change once."""
    return hashlib.sha256(f"{job_id}\n{run_id}\n{url}".encode()).hexdigest()[:32]


def text_diff(before: str, after: str) -> tuple[str, bool]:
    """A unified diff of two texts, line by line, and whether it was cut."""
    cut = len(before) > MAX_TEXT_CHARS or len(after) > MAX_TEXT_CHARS
    lines = difflib.unified_diff(before[:MAX_TEXT_CHARS].splitlines(),
                                 after[:MAX_TEXT_CHARS].splitlines(), "before", "after",
                                 n=DIFF_CONTEXT, lineterm="")
    out: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size > MAX_DIFF_CHARS:
            cut = True
            break
        out.append(line)
    return "\n".join(out), cut


def data_changes(before: Any, after: Any) -> dict[str, dict[str, Any]]:
    """The `data` fields whose values differ: {field: {"before": ..., "after": ...}} (a field
    that is missing on one side is null there)."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    return {key: {"before": old.get(key), "after": new.get(key)}
            for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)}


def boilerplate_only(row: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """A changed page whose extracted content, data and structured data are all as they were
    (the change was in its navigation, a date, an ad): not news to whoever extracts them. A
    crawl that extracts neither content nor data has only the bytes to go by."""
    if row["change"] != "changed" or previous is None:
        return False
    if row["content"] is None and row["data"] is None:
        return False
    return all(row[name] == previous[name] for name in ("content", "data", "structured"))


def change_entry(job_id: str, row: dict[str, Any], previous: dict[str, Any] | None
                 ) -> dict[str, Any]:
    """The notification of one page's record (`row`), against its last earlier record."""
    entry: dict[str, Any] = {
        "id": change_id(job_id, row["run_id"], row["url"]), "url": row["url"],
        "change": row["change"], "status": row["status"], "fetched_at": row["fetched_at"],
        "title": row["title"]}
    if row["change"] == "changed" and previous is not None:
        if isinstance(row["content"], str) and isinstance(previous["content"], str):
            entry["diff"], cut = text_diff(previous["content"], row["content"])
            if cut:
                entry["diff_truncated"] = True
        fields = data_changes(previous["data"], row["data"])
        if fields:
            entry["data_changes"] = fields
    elif row["change"] == "new" and row["data"] is not None:
        entry["data"] = row["data"]
    return entry
