"""`python -m crawler serve --listen HOST:PORT --data-dir DIR [--token TOKEN]
[--allow-network CIDR ...] [--max-jobs N]`: the crawl service."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from crawler.app import run_event_loop
from crawler.service.api import ServiceConfig, build_app
from crawler.service.jobs import JobStore
from crawler.service.origin import HostPolicy
from crawler.service.spec import Limits
from crawler.service.supervisor import Supervisor
from crawler.settings import split_listen

log = logging.getLogger("crawler.service")
TOKEN_ENV = "CRAWLER_SERVICE_TOKEN"
NETWORKS_ENV = "CRAWLER_SERVICE_ALLOW_NETWORKS"  # docker compose passes it
IDLE_SECONDS = 15.0  # a kept-alive connection with no request is closed after this


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m crawler serve",
        description="The crawl service: submit, watch and cancel crawls over HTTP (JSON API, "
                    "Prometheus /metrics, a dashboard at /). Each job runs in its own process "
                    "and job directory under --data-dir.")
    parser.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                        help="address to listen on (default 127.0.0.1:8080); an address "
                             "other than loopback needs --token")
    parser.add_argument("--data-dir", type=Path, default=Path("crawler-data"), metavar="DIR",
                        help="where the jobs live (default crawler-data)")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None,
                        help=f"bearer token every endpoint but /health, /metrics and the "
                             f"dashboard's page requires (default: ${TOKEN_ENV})")
    parser.add_argument("--allow-network", action="append", metavar="CIDR",
                        default=[n.strip() for n in os.environ.get(NETWORKS_ENV, "").split(",")
                                 if n.strip()],
                        help="a loopback, private or link-local network the jobs may crawl "
                             "(repeatable); API seeds never open one by themselves (default: "
                             f"${NETWORKS_ENV}, comma-separated)")
    parser.add_argument("--allow-extractor", action="append", default=[],
                        metavar="MODULE:FUNCTION",
                        help="an extraction function jobs may name in their `extractor` "
                             "setting (repeatable); no other code is run for a job")
    parser.add_argument("--allow-credentials", action="store_true",
                        help="jobs may carry credentials: headers, cookies (a cookies.txt's "
                             "text), login and login_fields, proxies; they are kept in the "
                             "job's owner-only directory and job views show them redacted")
    parser.add_argument("--max-jobs", type=int, default=2, metavar="N",
                        help="jobs that crawl at once; the rest queue (default 2)")
    parser.add_argument("--max-seeds", type=int, default=10_000, metavar="N",
                        help="seeds one job may have (default 10000)")
    parser.add_argument("--max-kept-jobs", type=int, default=1000, metavar="N",
                        help="jobs kept; beyond it the oldest ended job is removed with its "
                             "records (default 1000)")
    parser.add_argument("--max-body-bytes", type=int, default=1 << 20, metavar="N",
                        help="largest request body (default 1 MiB)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a Host name the service also answers to (a reverse proxy's); "
                             "it answers to its listen address (and localhost on loopback), "
                             "so a page on another site cannot reach it by DNS rebinding")
    parser.add_argument("--schedule-seconds", action="store_true",
                        help="take six-field schedules whose sixth field is seconds (a job "
                             "may then run every second); without it, five-field cron only")
    return parser


def _open_files_to_hard_limit() -> None:
    """Many held-open connections must not exhaust the service's files before the hard
    limit does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_args(args: argparse.Namespace) -> str | None:
    """Why the service must not start with these arguments, or None."""
    try:
        host, _ = split_listen(args.listen)
    except ValueError as exc:
        return f"--listen {exc}"
    if not is_loopback(host) and not args.token:
        return (f"--listen {args.listen} is not a loopback address: give --token (or "
                f"{TOKEN_ENV}) so that only those who hold it can start crawls")
    for network in args.allow_network:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            return f"--allow-network {network!r} is not a network such as 10.0.0.0/8"
    for name in ("max_jobs", "max_seeds", "max_kept_jobs", "max_body_bytes"):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1"
    return None


async def serve(args: argparse.Namespace, ready: asyncio.Event | None = None) -> None:
    host, port = split_listen(args.listen)
    supervisor = Supervisor(JobStore(args.data_dir), args.max_jobs, args.allow_network)
    limits = Limits(args.max_seeds, frozenset(args.allow_extractor),
                    args.schedule_seconds, args.allow_credentials)
    config = ServiceConfig(args.token, limits, args.max_kept_jobs, args.max_body_bytes,
                           HostPolicy(host, port, args.allow_host))
    _open_files_to_hard_limit()  # many clients; an idle one is let go after IDLE_SECONDS
    runner = web.AppRunner(build_app(supervisor, config), access_log=None,
                           keepalive_timeout=IDLE_SECONDS)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await supervisor.store.load()  # every kept job, read once, off the loop
        await web.TCPSite(runner, host, port).start()
        await supervisor.start()
        log.info("crawl service at http://%s:%d/ (data in %s)", host, port, args.data_dir)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: running crawls stop cleanly and resume at the next start")
    finally:
        await supervisor.close()
        await runner.cleanup()


def serve_main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    problem = check_args(args)
    if problem:
        print(f"crawler: error: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        run_event_loop(serve(args))
    except OSError as exc:
        print(f"crawler: error: cannot serve on {args.listen}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0
