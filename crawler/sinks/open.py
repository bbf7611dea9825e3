"""The factory: the sinks a `-o` target names, by its suffix or scheme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.errors import UsageError
from crawler.sinks.base import Sink
from crawler.sinks.fields import chosen_fields


def items_path(path: Path) -> Path:
    """Where a file output's items go: out.jsonl -> out.items.jsonl, out.csv -> out.items.csv."""
    return path.with_name(f"{path.stem}.items{path.suffix}")


def sinks_for(target: str, job: str = "crawl", pool_size: int = 4,
              outage_seconds: float = 300.0, data_columns: list[str] | None = None,
              warc_max_bytes: int = 10**9, warc_info: dict[str, Any] | None = None,
              csv_escape: bool = True, fields: tuple[str, ...] = ()) -> list[Sink]:
    """The sinks a `-o` target names, by its suffix or scheme (a file output and its items
    file); UsageError for one we do not know. `job` and the rest are the PostgreSQL sink's,
    `data_columns` the CSV sink's, `warc_*` the WARC sink's, `fields` (--fields) the CSV and
    JSON Lines sinks'."""
    from crawler.sinks.csv import CsvSink
    from crawler.sinks.jsonl import JsonLinesSink
    from crawler.sinks.sqlite import SqliteSink

    lowered = target.lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        from crawler.sinks.postgres import PostgresSink

        return [PostgresSink(target, job, pool_size, outage_seconds)]
    path = Path(target)
    if lowered.endswith(".jsonl"):
        return [JsonLinesSink(path, fields=fields), JsonLinesSink(items_path(path), items=True)]
    if lowered.endswith(".csv"):
        records = CsvSink(path, data_columns, escape_formulas=csv_escape, fields=fields)
        records.check_fields()
        return [records, CsvSink(items_path(path), items=True, escape_formulas=csv_escape)]
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
               csv_escape: bool = True, fields: str = "") -> list[Sink]:
    """The sinks of every `-o` target (not yet opened). The job's own crawl.db is the job
    state's. UsageError for an unknown output or --fields."""
    chosen = chosen_fields(fields)
    sinks = [sink for t in outputs
             for sink in sinks_for(t, job, pool_size, outage_seconds, data_columns,
                                   warc_max_bytes, warc_info, csv_escape, chosen)]
    names = [sink.name for sink in sinks]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"output {name} is given twice")
    return sinks
