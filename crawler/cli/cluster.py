"""The command lines of `python -m crawler seed` and `python -m crawler worker`."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from crawler.app import run_event_loop
from crawler.cli.common import (
    EXIT_OK,
    USER_ERRORS,
    build_parser,
    configure_logging,
    exit_status_of,
)
from crawler.frontier.seeds import read_seeds
from crawler.settings import Settings, load_settings

log = logging.getLogger("crawler")


def _settings(args: dict[str, Any]) -> Settings:
    config = args.pop("config")
    settings = load_settings(args, config_file=config, environ=os.environ)
    configure_logging(settings)
    return settings


def seed_main(argv: Sequence[str]) -> int:
    """`seed SEEDS --frontier redis://...`: create the job unless it exists, queue the seeds."""
    from crawler.cluster.worker import seed_job

    parser = build_parser("python -m crawler seed", description=(
        "Create the job --job-name in the Redis frontier --frontier (its politeness, budgets "
        "and scope are taken from these options, once) and queue the URLs in SEEDS. Run it "
        "again to add seeds to a running job."))
    args = vars(parser.parse_args(argv))
    seeds_path = args.pop("seeds")
    try:
        settings = _settings(args)
        seeds = read_seeds(seeds_path, settings.url_rules)
        for problem in seeds.problems:
            log.error("skipping seed line %s", problem)
        job, created, new = run_event_loop(seed_job(settings, seeds.urls))
    except USER_ERRORS as exc:
        return exit_status_of(exc)
    verb = "created" if created else "exists"
    print(f"job {job.name} {verb} (run {job.run_id}); {new} of {len(seeds.urls)} seeds queued. "
          f"Start workers: python -m crawler worker --frontier {settings.frontier} "
          f"--job-name {job.name} -o postgresql://...", file=sys.stderr)
    # exit 0 even with bad lines (each logged above): the workers of a compose cluster start
    # once `seed` succeeds, and one bad line must not keep every worker waiting
    return EXIT_OK


def worker_main(argv: Sequence[str]) -> int:
    """`worker --frontier redis://... -o postgresql://...`: crawl the job until it is done."""
    from crawler.cluster.worker import run_worker

    parser = build_parser("python -m crawler worker", seeds=False, description=(
        "Join the job --job-name in the Redis frontier --frontier and crawl it with any number "
        "of other workers, until nothing is queued or leased. Records go to the -o outputs "
        "(postgresql://... or .db). The job's politeness, budgets and scope are the ones "
        "`seed` set."))
    args = vars(parser.parse_args(argv))
    try:
        settings = _settings(args)
        outcome = run_event_loop(run_worker(settings))
    except USER_ERRORS as exc:
        return exit_status_of(exc)
    stats = outcome.stats
    if not settings.quiet:
        print(f"worker: {stats.pages} records ({stats.errors} errors, {stats.retries} retries) "
              f"in {stats.elapsed():.1f}s, {stats.rate():.1f} pages/s"
              + ("" if outcome.job is None else f"; job {outcome.job.name}"), file=sys.stderr)
    if outcome.stopped_by is not None:
        return 128 + outcome.stopped_by
    return EXIT_OK
