"""`python -m crawler schedule CRON SEEDS [options]`: run the crawl on a cron schedule without a
cron daemon (the docker-compose `scheduled` service uses it).

Each turn runs `python -m crawler SEEDS [options]` as a child process and waits for it, so two
runs never overlap; turns missed while a run was still going are skipped. SIGTERM or Ctrl-C is
passed on to a running crawl (which stops cleanly and resumes at the next turn), then the
scheduler exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from types import FrameType

from crawler.errors import CrawlerError
from crawler.extract.setup import extraction_for
from crawler.frontier.seeds import read_seeds
from crawler.jobs.cron import cron_problem, next_turn
from crawler.settings import load_settings
from crawler.sinks import open_sinks

log = logging.getLogger("crawler.schedule")
SECONDS_ENV = "CRAWLER_SCHEDULE_WITH_SECONDS"


class Scheduler:
    """Waits for each time the cron expression names, then runs one crawl."""

    def __init__(self, expression: str, crawl_args: Sequence[str]) -> None:
        self.expression = expression
        self.command = [sys.executable, "-m", "crawler", *crawl_args]
        self.stopped_by: int | None = None
        self._stop = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None

    def next_time(self) -> datetime:
        """The first time the expression names after now (local time; set TZ to change it)."""
        return next_turn(self.expression, datetime.now().astimezone())

    def run(self) -> int:
        """Run crawls until a signal; returns 128 + that signal."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        while not self._stop.is_set():
            when = self.next_time()
            log.info("next crawl at %s", when.isoformat(timespec="seconds"))
            delay = (when - datetime.now().astimezone()).total_seconds()
            if self._stop.wait(max(0.0, delay)):
                break
            self._run_once()
        log.info("scheduler stopped by %s", signal.Signals(self.stopped_by or 15).name)
        return 128 + (self.stopped_by or signal.SIGTERM)

    def _run_once(self) -> None:
        log.info("starting: %s", " ".join(self.command[1:]))
        child = self._child = subprocess.Popen(self.command)
        if self._stop.is_set():  # a signal came while it was starting
            child.send_signal(self.stopped_by or signal.SIGTERM)
        code = child.wait()
        self._child = None
        meaning = {0: "finished", 3: "finished; some seed lines were bad",
                   75: "skipped: the job directory is in use by another crawl"}
        log.info("crawl exited with %d (%s)", code, meaning.get(code, "see its log above"))

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopped_by = signum
        self._stop.set()
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signum)


def schedule_main(argv: Sequence[str], crawl_parser: argparse.ArgumentParser) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler schedule",
        description="Run `python -m crawler SEEDS [options]` each time CRON names, one run at "
                    "a time. Give the crawl --recrawl-after (or --recrawl) so each run "
                    "refetches what changed.")
    parser.add_argument("cron", metavar="CRON",
                        help='cron expression, e.g. "0 3 * * *" (minute hour day month '
                             "weekday); local time, set TZ to change it")
    parser.add_argument("--with-seconds", action="store_true",
                        default=os.environ.get(SECONDS_ENV, "") not in ("", "0"),
                        help="CRON may have a sixth field, seconds (croniter's extension): "
                             "for tests and demos; a crawl can then start every second "
                             f"(default: ${SECONDS_ENV}=1 turns it on)")
    parser.add_argument("crawl_args", metavar="SEEDS [options]", nargs=argparse.REMAINDER,
                        help="the crawl's arguments, as for python -m crawler")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problem = cron_problem(args.cron, with_seconds=args.with_seconds)
    if problem is not None:
        print(f"crawler: error: {problem}", file=sys.stderr)
        return 2
    if not args.crawl_args:
        parser.error("the crawl's SEEDS file is missing")
    flags = vars(crawl_parser.parse_args(args.crawl_args))  # a typo fails now, not at 3 am
    seeds = flags.pop("seeds")
    config = flags.pop("config")
    try:
        settings = load_settings(flags, config_file=config, environ=os.environ)
        extraction_for(settings)
        open_sinks(settings.outputs, fields=settings.fields)  # an unknown output, likewise
        if seeds != "-":
            read_seeds(seeds, settings.url_rules)  # a missing seeds file, likewise
    except CrawlerError as exc:
        print(f"crawler: error: {exc}", file=sys.stderr)
        return exc.exit_status
    return Scheduler(args.cron, args.crawl_args).run()
