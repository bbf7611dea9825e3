"""The sink protocol (open, write(batch), checkpoint, close) and the factory that picks sinks by
suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from crawler.errors import UsageError
from crawler.exchange import Exchange


class SinkError(Exception):
    """A sink could not write; the crawl stops rather than lose records silently."""


Row = dict[str, Any]  # a record as Record.to_dict() gives it, or an item row (ITEM_FIELDS)


class Sink(Protocol):
    """Somewhere records are stored. Calls come from one writer task, never concurrently.

    A sink is exactly-once in one of two ways: its writes are idempotent (`checkpoint` returns
    None), or it is append-only and `checkpoint` says how far it got; the job state commits that
    with the batch, and `open` gets it back to cut off what no commit covers."""

    name: str

    async def open(self, checkpoint: int | None = None) -> None: ...

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        """Store a batch: its records, and the items their pages yielded (often none)."""

    def checkpoint(self) -> int | None: ...

    async def close(self) -> None: ...


@runtime_checkable
class ArchiveSink(Sink, Protocol):
    """A sink that also stores each record's HTTP exchange (crawler.exchange): WARC."""

    async def archive(self, rows: list[Row], exchanges: list[Exchange | None]) -> None:
        """Store the exchanges of a batch, before `write` gets its rows."""


def items_path(path: Path) -> Path:
    """Where a file output's items go: out.jsonl -> out.items.jsonl, out.csv -> out.items.csv."""
    return path.with_name(f"{path.stem}.items{path.suffix}")


def sinks_for(target: str, job: str = "crawl", pool_size: int = 4,
              outage_seconds: float = 300.0, data_columns: list[str] | None = None,
              warc_max_bytes: int = 10**9, warc_info: dict[str, Any] | None = None,
              csv_escape: bool = True) -> list[Sink]:
    """The sinks a `-o` target names, by its suffix or scheme (a file output and its items
    file); UsageError for one we do not know. `job` and the rest are the PostgreSQL sink's,
    `data_columns` the CSV sink's, `warc_*` the WARC sink's."""
    from crawler.sinks.csv import CsvSink
    from crawler.sinks.jsonl import JsonLinesSink
    from crawler.sinks.sqlite import SqliteSink

    lowered = target.lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        from crawler.sinks.postgres import PostgresSink

        return [PostgresSink(target, job, pool_size, outage_seconds)]
    path = Path(target)
    if lowered.endswith(".jsonl"):
        return [JsonLinesSink(path), JsonLinesSink(items_path(path), items=True)]
    if lowered.endswith(".csv"):
        return [CsvSink(path, data_columns, escape_formulas=csv_escape),
                CsvSink(items_path(path), items=True, escape_formulas=csv_escape)]
    if lowered.endswith((".db", ".sqlite", ".sqlite3")):
        return [SqliteSink(path)]
    if lowered.endswith((".warc", ".warc.gz")):
        from crawler.archive.warc import WarcSink

        return [WarcSink(path, warc_max_bytes, warc_info)]
    raise UsageError(
        f"unknown output {target!r}: the suffix or scheme picks the sink (.jsonl, .csv, .db, "
        ".sqlite, .sqlite3, .warc, .warc.gz, postgresql://)"
    )


def open_sinks(outputs: tuple[str, ...], job: str = "crawl", pool_size: int = 4,
               outage_seconds: float = 300.0, data_columns: list[str] | None = None,
               warc_max_bytes: int = 10**9, warc_info: dict[str, Any] | None = None,
               csv_escape: bool = True) -> list[Sink]:
    """The sinks of every `-o` target (not yet opened). The job's own crawl.db is the job
    state's."""
    sinks = [sink for t in outputs
             for sink in sinks_for(t, job, pool_size, outage_seconds, data_columns,
                                   warc_max_bytes, warc_info, csv_escape)]
    names = [sink.name for sink in sinks]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"output {name} is given twice")
    return sinks
