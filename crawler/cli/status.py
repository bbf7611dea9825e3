"""`python -m crawler status JOB_DIR`: what a job holds (pending, done, errors) and its last run."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from crawler.jobs.lock import holder
from crawler.jobs.report import RunCounts, count_run
from crawler.jobs.state import DB_NAME, JobState
from crawler.settings import load_settings


def job_status(job_dir: Path) -> dict[str, Any]:
    """The job's state as plain data: who runs it, its URLs by state, its runs."""
    state = JobState.open_readonly(job_dir)
    try:
        urls = state.url_counts()
        runs = state.runs()
        last = runs[-1] if runs else None
        counts = count_run(state, last["run_id"]) if last is not None else RunCounts()
    finally:
        state.close()
    return {
        "job_dir": str(job_dir),
        "running": holder(job_dir),
        "urls": {**urls, "pending": urls["queued"] + urls["leased"]},
        "runs": len(runs),
        "last_run": None if last is None else {**last, "so_far": {
            "records": counts.records, "errors": sum(counts.errors.values()),
            "http_errors": counts.http_errors,
            **{k: n for k, n in counts.by_change.items() if n and k != "none"}}},
    }


def describe(info: dict[str, Any]) -> list[str]:
    urls, last = info["urls"], info["last_run"]
    lines = [
        f"job {info['job_dir']}: " + (f"running ({info['running']})" if info["running"]
                                      else "not running"),
        f"urls: {sum(urls[k] for k in ('queued', 'leased', 'done', 'pruned'))} known; "
        f"{urls['pending']} pending ({urls['leased']} were in flight), {urls['done']} done, "
        f"{urls['pruned']} pruned",
    ]
    if last is None:
        return [*lines, "runs: none yet"]
    if last["finished_at"]:
        ended = f"completed at {last['finished_at']}"
    elif info["running"]:
        ended = "in progress"
    else:
        ended = f"{last['outcome']}: the next start resumes it"
    so_far = last["so_far"]
    changes = ", ".join(f"{k}: {so_far[k]}" for k in ("new", "changed", "unchanged", "gone")
                        if so_far.get(k)) or "none"
    lines += [
        f"runs: {info['runs']}; last run {last['run_id']} started {last['started_at']}, "
        f"{ended} ({last['sessions']} session(s))",
        f"last run: {so_far.get('records', 0)} records, {so_far.get('errors', 0)} errors, "
        f"{so_far.get('http_errors', 0)} HTTP 4xx/5xx; changes {changes}",
    ]
    report = last["report"]
    if report is not None:
        session = report["session"]
        lines.append(f"last session: {session['records']} records at "
                     f"{session['pages_per_second']} pages/s, ended {report['finished_at']}")
    return lines


def status_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler status",
        description="Print the state of a crawl job: pending, done, errors, last run. A job in "
                    "Redis (the worker command's) is named with --frontier and --job-name.")
    parser.add_argument("job_dir", metavar="JOB_DIR", type=Path, nargs="?",
                        help="the job's --job-dir (default: $CRAWLER_JOB_DIR, else crawl-job)")
    parser.add_argument("--frontier", metavar="URL", default=os.environ.get("CRAWLER_FRONTIER"),
                        help="a job in Redis: redis://HOST:PORT/DB (default: $CRAWLER_FRONTIER)")
    parser.add_argument("--job-name", metavar="NAME",
                        default=os.environ.get("CRAWLER_JOB_NAME", "crawl"),
                        help="the job's name in Redis (default: $CRAWLER_JOB_NAME, else crawl)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    if args.frontier and args.job_dir is None:
        return _cluster(args.frontier, args.job_name, args.json)
    if args.job_dir is None:
        args.job_dir = Path(load_settings(environ=os.environ).job_dir)  # the default job
    if not (args.job_dir / DB_NAME).is_file():
        print(f"crawler: error: {args.job_dir} is not a job directory (it has no {DB_NAME})",
              file=sys.stderr)
        return 2
    try:
        info = job_status(args.job_dir)
    except sqlite3.Error as exc:
        print(f"crawler: error: cannot read job state in {args.job_dir}: {exc}", file=sys.stderr)
        return 1
    _print(info, describe(info), args.json)
    return 0


def _cluster(frontier: str, job_name: str, as_json: bool) -> int:
    import asyncio

    from crawler.cli.common import USER_ERRORS, exit_status_of
    from crawler.cluster.status import cluster_status, describe_cluster
    from crawler.settings import load_settings

    try:
        settings = load_settings({"frontier": frontier, "job_name": job_name,
                                  "outage_seconds": "5"})
        info = asyncio.run(cluster_status(settings))
    except USER_ERRORS as exc:
        return exit_status_of(exc)
    _print(info, describe_cluster(info), as_json)
    return 0


def _print(info: dict[str, Any], lines: list[str], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print("\n".join(lines))
