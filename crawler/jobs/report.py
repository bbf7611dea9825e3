"""The run report: what a run did, as JSON for machines (report.json in the job directory, and
the job's runs table) and as a few lines for people."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from crawler.jobs.state import JobState, Run
from crawler.records import CHANGES, now_iso
from crawler.util.atomicfile import write_atomically

REPORT_NAME = "report.json"


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass(slots=True)
class RunCounts:
    """The records of one run, counted by status, by change label and by kind of error."""

    records: int = 0
    by_status: Counter[str] = field(default_factory=Counter)  # "200", ..., "none"
    by_change: Counter[str] = field(
        default_factory=lambda: Counter(dict.fromkeys((*CHANGES, "none"), 0)))
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def http_errors(self) -> int:
        return sum(n for status, n in self.by_status.items()
                   if status != "none" and int(status) >= 400)


def count_run(state: JobState, run_id: str) -> RunCounts:
    counts = RunCounts()
    for status, change, kind, n in state.run_rows(run_id):
        counts.records += n
        counts.by_status["none" if status is None else str(status)] += n
        counts.by_change[change or "none"] += n
        if kind is not None:
            counts.errors[kind] += n
    return counts


def build_report(state: JobState, run: Run, outcome: str, *, session_records: int,
                 session_seconds: float, outputs: list[str], retried: int = 0,
                 webhooks: dict[str, int] | None = None) -> dict[str, Any]:
    """Counts over every record of the run (all its sessions), and this session's speed;
    `retried`: URLs this session tried again after a failure that can pass; `webhooks`: the
    job's notified changes by the state of their delivery (None: no webhook)."""
    counts = count_run(state, run.run_id)
    urls = state.url_counts()
    finished = now_iso()
    return {
        "run_id": run.run_id,
        "kind": run.kind,
        "outcome": outcome,
        "started_at": run.started_at,
        "finished_at": finished,
        "duration_seconds": round(_seconds_between(run.started_at, finished), 3),
        "sessions": run.sessions,
        "records": counts.records,
        "seeds_answered": state.seeds_answered(run.run_id),
        "pending": urls["queued"] + urls["leased"],
        "by_status": dict(sorted(counts.by_status.items())),
        "by_change": dict(counts.by_change),
        "errors_by_kind": dict(counts.errors.most_common()),
        "session": {"records": session_records, "seconds": round(session_seconds, 3),
                    "pages_per_second": round(session_records / session_seconds, 1)
                    if session_seconds > 0 else 0.0},
        "outputs": outputs,
        "retried": retried,
        "webhooks": webhooks,
    }


def write_report(job_dir: Path, report: dict[str, Any]) -> Path:
    """Write report.json atomically (a reader never sees half of it)."""
    path = job_dir / REPORT_NAME
    write_atomically(path, orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report for people: a few lines for the end of a crawl (and for `status`)."""
    session = report["session"]
    statuses = ", ".join(f"{'no answer' if k == 'none' else k}: {v}"
                         for k, v in report["by_status"].items()) or "none"
    changes = ", ".join(f"{'no label' if k == 'none' else k}: {v}"
                        for k, v in report["by_change"].items() if v) or "none"
    errors = ", ".join(f"{k}: {v}" for k, v in report["errors_by_kind"].items()) or "none"
    lines = [
        f"crawled {session['records']} URLs in {session['seconds']:.1f}s "
        f"({session['pages_per_second']:.1f} pages/s)",
        f"run {report['run_id']} ({report['kind']}, {report['outcome']}): {report['records']} "
        f"records, {report['pending']} pending, {report['sessions']} session(s), "
        f"{report['duration_seconds']:.1f}s since it started",
        f"statuses {statuses}; changes {changes}; errors {errors}",
    ]
    if report.get("retried"):
        lines.insert(1, f"tried again {report['retried']} URLs whose last answer was a failure "
                        "that can pass (refused connection, timeout, 429, 5xx)")
    return lines
