"""Command line: `python -m crawler SEEDS [options]`. Bad input is one line and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crawler import __version__
from crawler.errors import CrawlerError, UsageError
from crawler.pool_start import start_forkserver, uses_worker_processes, worker_preload
from crawler.seeds import read_seeds
from crawler.settings import (
    CHOICES,
    GROUPS,
    METAVARS,
    TYPES,
    Settings,
    flag_for,
    help_for,
    load_settings,
)
from crawler.sinks import SinkError

if TYPE_CHECKING:
    from crawler.app import CrawlOutcome

log = logging.getLogger("crawler")

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_BAD_SEED_LINES = 3
EXIT_NO_SEED_ANSWERED = 4
SHORT_FLAGS = {"outputs": "-o", "quiet": "-q"}
EXIT_CODES_HELP = """exit status:
  0    the crawl finished
  1    a fatal error stopped the crawl (an output could not be written, ...)
  2    bad input: options, config file, seeds file; nothing was crawled
  3    the crawl finished, but some seeds-file lines were not URLs (each was reported)
  4    no seed got an answer (a host that does not resolve, a refused connection...): the
       crawl fetched nothing
  75   the job directory is in use by another crawl; nothing was done (cron: try next time)
  130  stopped by Ctrl-C (SIGINT); 143 stopped by SIGTERM; outputs are complete either way,
       and the next run with the same --job-dir resumes where this one stopped

a finished job run again tries again the URLs that failed for a reason that can pass
(refused, timeout, 429, 5xx), goes on with seeds it never had, and otherwise does nothing
(exit 0) unless --recrawl is given or recrawl_after seconds have passed since it finished;
changed extraction settings without --recrawl exit 2. one job per --job-dir (default
crawl-job): give an unrelated crawl its own. other commands:
  python -m crawler status JOB_DIR [--json]     what a job holds and how its last run went
  python -m crawler schedule CRON SEEDS [opts]  run the crawl on a cron schedule
  python -m crawler seed SEEDS --frontier redis://...   create a shared job, queue seeds
  python -m crawler worker --frontier redis://... -o postgresql://...   join it and crawl
  python -m crawler serve --listen HOST:PORT --data-dir DIR   the crawl service (HTTP API,
       /metrics, a dashboard at /)

every option can also be set in the config file (same name, with underscores) or as an
environment variable CRAWLER_<NAME>, e.g. CRAWLER_MAX_PAGES=100; flags win over the environment,
which wins over the config file."""


def _metavar(name: str) -> str:
    return METAVARS.get(name) or {int: "N", float: "SECONDS", str: "TEXT"}.get(
        TYPES[name], "VALUE")


def _shown_default(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) or "none"
    return str(value) if value != "" else "none"


def build_parser(prog: str = "python -m crawler", seeds: bool = True,
                 description: str = "Crawl the web from the URLs in SEEDS (one per line; '-' "
                                    "reads stdin).") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if seeds:
        parser.add_argument("seeds", metavar="SEEDS", help="seeds file: one URL per line")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        default=os.environ.get("CRAWLER_CONFIG"),
                        help="TOML file of settings, e.g. config/default.toml "
                             "(default: $CRAWLER_CONFIG, else none)")
    parser.add_argument("--version", action="version", version=f"crawler {__version__}")
    defaults = Settings()
    for title, names in GROUPS:
        group = parser.add_argument_group(title)
        for name in names:
            _add_setting(group, name, getattr(defaults, name))
    return parser


def _add_setting(group: argparse._ArgumentGroup, name: str, default: object) -> None:
    flags = [f for f in (SHORT_FLAGS.get(name), flag_for(name)) if f]
    text = f"{help_for(name)} (default: {_shown_default(default)})"
    kind = TYPES[name]
    if kind is bool:
        group.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction,
                           default=argparse.SUPPRESS, help=text)
    elif getattr(kind, "__origin__", None) is tuple:
        group.add_argument(*flags, dest=name, action="append", metavar=_metavar(name),
                           default=argparse.SUPPRESS, help=text)
    elif name in CHOICES:
        group.add_argument(*flags, dest=name, choices=CHOICES[name],
                           default=argparse.SUPPRESS, help=text)
    else:
        group.add_argument(*flags, dest=name, metavar=_metavar(name),
                           default=argparse.SUPPRESS, help=text)


def configure_logging(settings: Settings) -> None:
    level = logging.WARNING if settings.quiet else getattr(logging, settings.log_level.upper())
    logging.basicConfig(level=level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("asyncio").setLevel(logging.WARNING)


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
    from crawler.report import summary_lines

    lines = summary_lines(outcome.report)
    written = [o for o in outcome.outputs if ".items." not in o or Path(o).exists()]
    lines.append(f"records in: {', '.join(written)}; report: {outcome.report_path}")
    if outcome.stopped_by is not None:
        lines.append(f"stopped by {outcome.stopped_by.name}; {outcome.stats.cancelled} in-flight "
                     "fetches were cancelled and will be fetched when the job resumes")
    return "\n".join(lines)


USER_ERRORS = (CrawlerError, SinkError, KeyboardInterrupt)


def exit_status_of(exc: BaseException) -> int:
    """Print one of USER_ERRORS as one line (never a traceback); return its exit status."""
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C before the signal handlers are set
        print("crawler: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    print(f"crawler: error: {exc}", file=sys.stderr)
    return exc.exit_status if isinstance(exc, CrawlerError) else EXIT_FATAL


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command the command line names (crawl, status, schedule, seed, worker, serve);
    return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    return crawl_main(argv)


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


def _status(argv: list[str]) -> int:
    from crawler.status import status_main

    return status_main(argv)


def _schedule(argv: list[str]) -> int:
    from crawler.schedule import schedule_main

    return schedule_main(argv, build_parser())


def _seed(argv: list[str]) -> int:
    from crawler.cluster.commands import seed_main

    return seed_main(argv)


def _worker(argv: list[str]) -> int:
    from crawler.cluster.commands import worker_main

    return worker_main(argv)


def _serve(argv: list[str]) -> int:
    from crawler.service.server import serve_main

    return serve_main(argv)


COMMANDS = {"status": _status, "schedule": _schedule, "seed": _seed, "worker": _worker,
            "serve": _serve}
