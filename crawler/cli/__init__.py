"""The command lines (the faces a user runs): `python -m crawler SEEDS` (crawl.py), `status`,
`schedule`, `seed` and `worker` (cluster.py), `serve` (crawler.service). Each names its exit
codes; common.py holds what they share. Bad input is one line and a non-zero exit.

May import anything below it: the app, the engine, the stages and the leaves. Each command is
imported when it runs, so `--help` and the other commands start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command the command line names (crawl, status, schedule, seed, worker, serve);
    return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    from crawler.cli.crawl import crawl_main

    return crawl_main(argv)


def _status(argv: list[str]) -> int:
    from crawler.cli.status import status_main

    return status_main(argv)


def _schedule(argv: list[str]) -> int:
    from crawler.cli.common import build_parser
    from crawler.cli.schedule import schedule_main

    return schedule_main(argv, build_parser())


def _seed(argv: list[str]) -> int:
    from crawler.cli.cluster import seed_main

    return seed_main(argv)


def _worker(argv: list[str]) -> int:
    from crawler.cli.cluster import worker_main

    return worker_main(argv)


def _serve(argv: list[str]) -> int:
    from crawler.service.server import serve_main

    return serve_main(argv)


COMMANDS = {"status": _status, "schedule": _schedule, "seed": _seed, "worker": _worker,
            "serve": _serve}
