"""`python -m crawler SEEDS [options]`: one crawl from the command line, and its summary."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.cli.common import (
    EXIT_BAD_SEED_LINES,
    EXIT_NO_SEED_ANSWERED,
    EXIT_OK,
    USER_ERRORS,
    build_parser,
    configure_logging,
    exit_status_of,
)
from crawler.errors import UsageError
from crawler.frontier.seeds import read_seeds
from crawler.parse.pool_start import start_forkserver, uses_worker_processes, worker_preload
from crawler.settings import load_settings

if TYPE_CHECKING:
    from crawler.app import CrawlOutcome

log = logging.getLogger("crawler")


def crawl_main(argv: Sequence[str]) -> int:
    """Parse the crawl's command line, crawl, and return the exit status."""
    args = vars(build_parser().parse_args(argv))
    seeds_path, config = args.pop("seeds"), args.pop("config")
    try:
        settings = load_settings(args, config_file=config, environ=os.environ)
        if settings.frontier:
            raise UsageError(f"--frontier {settings.frontier} is for many workers: run `python "
                             "-m crawler seed SEEDS --frontier ...` once, then `python -m "
                             "crawler worker --frontier ... -o ...` on each machine")
        configure_logging(settings)
        seeds = read_seeds(seeds_path, settings.url_rules)
        for problem in seeds.problems:
            log.error("skipping seed line %s", problem)
        if seeds.urls and uses_worker_processes(settings.parse_mode):
            start_forkserver(worker_preload(settings.content, bool(
                settings.extract or settings.extractor)))  # boots while the crawl imports
        from crawler.app import run_crawl, run_event_loop

        outcome = run_event_loop(run_crawl(settings, seeds.urls,
                                           credentials=seeds.credentials))
    except USER_ERRORS as exc:
        return exit_status_of(exc)
    if not settings.quiet:
        print(summary(outcome), file=sys.stderr)
    if outcome.stopped_by is not None:
        return 128 + outcome.stopped_by
    if outcome.report is not None and outcome.report["outcome"] == "completed" and \
            outcome.report["records"] and not outcome.report["seeds_answered"]:
        print("crawler: error: no seed got an answer (see the records' errors); nothing was "
              "crawled", file=sys.stderr)
        return EXIT_NO_SEED_ANSWERED
    return EXIT_BAD_SEED_LINES if seeds.problems else EXIT_OK


def summary(outcome: CrawlOutcome) -> str:
    """The end-of-crawl lines for people; report.json has the same, for machines."""
    run = outcome.run
    if run.kind == "idle":
        extra = [o for o in outcome.outputs[1:] if ".items." not in o]
        unwritten = (f"; nothing was written to {', '.join(extra)} (its records are in the "
                     "job's crawl.db; --recrawl writes a new run's)") if extra else ""
        return (f"job finished run {run.run_id} at {run.finished_at}; nothing to do (pass "
                "--recrawl, or set recrawl_after, to crawl it again; new seeds, or a higher "
                f"--max-pages, go on with it){unwritten}")
    if outcome.report is None:
        return f"crawled {outcome.stats.pages} URLs; run {run.run_id} (no report: see above)"
    from crawler.jobs.report import summary_lines

    lines = summary_lines(outcome.report)
    written = [o for o in outcome.outputs if ".items." not in o or Path(o).exists()]
    lines.append(f"records in: {', '.join(written)}; report: {outcome.report_path}")
    if outcome.stopped_by is not None:
        lines.append(f"stopped by {outcome.stopped_by.name}; {outcome.stats.cancelled} in-flight "
                     "fetches were cancelled and will be fetched when the job resumes")
    return "\n".join(lines)
