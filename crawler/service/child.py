"""One job's crawl, as a child process of the service:
`python -m crawler.service.child JOB_DIR [--allow-network CIDR ...]`.

A crashing crawl takes only this process down. It dies with the service (a kill -9 of the
service leaves no crawl running unwatched), and the job directory resumes at the next start.
Exit status: 0 when the run completed, 128 + the signal when a signal stopped it, else the
crawl's own (1 for a failure, 2 for a bad setting).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from crawler.app import run_crawl, run_event_loop
from crawler.errors import CrawlerError
from crawler.parse.orphans import die_with_parent
from crawler.service.jobs import JobFiles
from crawler.service.spec import job_settings, seeds_of


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.service.child")
    parser.add_argument("job", type=Path)
    parser.add_argument("--allow-network", action="append", default=[])
    args = parser.parse_args(argv)
    die_with_parent()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = JobFiles(args.job)
    try:
        spec, life = job.spec(), job.state()
        settings = job_settings(job.root, spec.settings, args.allow_network, life.recrawl)
        seeds = seeds_of(spec.seeds, settings)
        outcome = run_event_loop(run_crawl(settings, seeds.urls, credentials=seeds.credentials,
                                           trust_seed_networks=False))
    except CrawlerError as exc:
        print(f"crawler: error: {exc}", file=sys.stderr)
        return exc.exit_status
    if outcome.stopped_by is not None:
        return 128 + outcome.stopped_by
    return 0 if outcome.report is None or outcome.report["outcome"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
