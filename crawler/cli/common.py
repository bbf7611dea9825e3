"""What every command line shares: exit codes, the option parser built from the settings,
logging, and how a user error becomes one line and an exit status."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from crawler.errors import CrawlerError
from crawler.settings import (
    CHOICES,
    GROUPS,
    METAVARS,
    TYPES,
    Settings,
    flag_for,
    help_for,
)
from crawler.sinks import SinkError
from crawler.version import __version__

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


USER_ERRORS = (CrawlerError, SinkError, KeyboardInterrupt)


def exit_status_of(exc: BaseException) -> int:
    """Print one of USER_ERRORS as one line (never a traceback); return its exit status."""
    if isinstance(exc, KeyboardInterrupt):  # Ctrl-C before the signal handlers are set
        print("crawler: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    print(f"crawler: error: {exc}", file=sys.stderr)
    return exc.exit_status if isinstance(exc, CrawlerError) else EXIT_FATAL
