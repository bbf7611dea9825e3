"""The sink protocol (open, write(batch), close) and the factory that picks sinks by suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from crawler.errors import UsageError

DEFAULT_DB_NAME = "crawl.db"


class SinkError(Exception):
    """A sink could not write; the crawl stops rather than lose records silently."""


Row = dict[str, Any]  # a record as Record.to_dict() gives it


class Sink(Protocol):
    """Somewhere records are stored. Calls come from one writer task, never concurrently."""

    name: str

    async def open(self) -> None: ...

    async def write(self, rows: list[Row]) -> None: ...

    async def close(self) -> None: ...


def sink_for(target: str) -> Sink:
    """The sink a `-o` target names, by its suffix; UsageError for one we do not know."""
    from crawler.sinks.jsonl import JsonLinesSink
    from crawler.sinks.sqlite import SqliteSink

    lowered = target.lower()
    if lowered.endswith(".jsonl"):
        return JsonLinesSink(Path(target))
    if lowered.endswith((".db", ".sqlite", ".sqlite3")):
        return SqliteSink(Path(target))
    raise UsageError(
        f"unknown output {target!r}: the suffix picks the sink (.jsonl, .db, .sqlite, .sqlite3)"
    )


def open_sinks(job_dir: Path, outputs: tuple[str, ...]) -> list[Sink]:
    """The job's embedded SQLite sink, then one sink per `-o` target (not yet opened)."""
    from crawler.sinks.sqlite import SqliteSink

    return [SqliteSink(job_dir / DEFAULT_DB_NAME), *(sink_for(t) for t in outputs)]
