"""The sink protocol (open, write(batch), checkpoint, close) every output keeps; the factory that
picks sinks by suffix is crawler.sinks.open."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from crawler.util.exchange import Exchange


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
    """A sink that also stores each record's HTTP exchange (crawler.util.exchange): WARC."""

    async def archive(self, rows: list[Row], exchanges: list[Exchange | None]) -> None:
        """Store the exchanges of a batch, before `write` gets its rows."""
