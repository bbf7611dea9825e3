"""Many rows in few SQLite statements.

`executemany` drops and retakes the GIL once per row; from a worker thread beside a busy event
loop each retake waits for the loop to let go of the GIL. One multi-row statement retakes it
once. Measured on the benchmark (bench/RESULTS.md): a 200-record job-state commit went from a
median 49 ms to 43 ms; most of what is left is waiting for the GIL between statements, while
the loop goes on fetching.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

MAX_PARAMETERS = 32766  # SQLite's default limit of ? in one statement (3.32+)
# Each row count makes another statement text; a prepared 200-row statement holds ~100 KB, so
# the connection's cache of them stays small (the default 128 cost 10 MiB of RSS).
STATEMENT_CACHE = 16


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))


def run_rows(db: sqlite3.Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `statement`, whose `{values}` slot takes a list of `(?, ...)` groups, over `rows`
    in as few statements as SQLite allows."""
    if not rows:
        return
    width = len(rows[0])
    group = "(" + ", ".join("?" * width) + ")"
    for chunk in chunks(rows, MAX_PARAMETERS // width):
        values = ", ".join([group] * len(chunk))
        db.execute(statement.replace("{values}", values), [v for row in chunk for v in row])


def in_list(db: sqlite3.Connection, statement: str, keys: Sequence[Any]) -> None:
    """Run `statement`, whose `{keys}` slot takes `?, ?, ...`, over all `keys`."""
    for chunk in chunks(keys, MAX_PARAMETERS):
        db.execute(statement.replace("{keys}", ", ".join("?" * len(chunk))), chunk)
