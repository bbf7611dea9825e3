"""The service's HTTP API on aiohttp's server: JSON everywhere, `{"error": "..."}` with a 4xx
status for what a client got wrong, in the words the command line uses."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
from aiohttp import web
from prometheus_client.registry import CollectorRegistry

from crawler.errors import CrawlerError
from crawler.service.jobs import ENDED, STATES, JobFiles, JobSpec, new_job_id
from crawler.service.openapi import OPENAPI
from crawler.service.origin import FRAMING_HEADERS, HostPolicy, cross_site_problem, needs_json
from crawler.service.results import MAX_LIMIT, read_rows
from crawler.service.seed_guard import refused_seed, refused_webhook
from crawler.service.spec import Limits, check_request, shown_settings, without_password
from crawler.service.supervisor import Conflict, Supervisor
from crawler.watch.metrics import metrics_handler, registry_for

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health", "/"})  # "/" is the dashboard's empty shell
JOB_ID = re.compile(r"[0-9a-f]{1,32}")  # new_job_id's form; anything else is no job
FOLLOW_POLL_SECONDS = 0.5
VIEW_SECONDS = 0.5  # a job's view is served from memory this long (its numbers: every 1 s)
VIEW_CACHE_BYTES = 32 << 20  # at most this much of cached views, the oldest dropped first
LIST_LIMIT, LIST_MAX = 100, 1000  # GET /jobs: jobs a page by default, and at most
LISTED_SEEDS = 10  # GET /jobs shows a job's first seeds (GET /jobs/{id}: all of them)
MAX_FOLLOWERS = 64  # ?follow=true streams open at once; more get 429
SUPERVISOR: web.AppKey[Supervisor] = web.AppKey("supervisor", Supervisor)
CONFIG: web.AppKey[ServiceConfig] = web.AppKey("config")
VIEWS: web.AppKey[ViewCache] = web.AppKey("views")
FOLLOWERS: web.AppKey[list[int]] = web.AppKey("followers")  # [open follow streams]


@dataclass(frozen=True)
class ServiceConfig:
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    max_kept_jobs: int = 1000
    max_body_bytes: int = 1 << 20
    hosts: HostPolicy | None = None  # the Host names it answers to (None: any)


class ViewCache:
    """Job views as JSON bytes, kept VIEW_SECONDS unless the service changes a job's state in
    between: a dashboard or a script polling a job many times a second costs the machine (and
    so the crawl) a dictionary lookup, not four file reads and an encoding each time."""

    def __init__(self, supervisor: Supervisor, max_bytes: int = VIEW_CACHE_BYTES) -> None:
        self.supervisor = supervisor
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: dict[Any, tuple[int, float, bytes]] = {}  # oldest first

    def get(self, key: Any, build: Callable[[], Any]) -> bytes:
        now, version = time.monotonic(), self.supervisor.version
        entry = self.entries.get(key)
        if entry is not None and entry[0] == version and now - entry[1] < VIEW_SECONDS:
            return entry[2]
        body = orjson.dumps(build())
        if entry is not None:
            self.size -= len(self.entries.pop(key)[2])
        while self.entries and self.size + len(body) > self.max_bytes:
            self.size -= len(self.entries.pop(next(iter(self.entries)))[2])
        if len(body) <= self.max_bytes:
            self.entries[key] = (version, now, body)
            self.size += len(body)
        return body


class CachedMetrics:
    """GET /metrics: the exposition, kept VIEW_SECONDS (its numbers change once a second)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.handler = metrics_handler(registry)
        self.body: bytes = b""
        self.content_type = ""
        self.made_at = -VIEW_SECONDS

    async def __call__(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        if now - self.made_at >= VIEW_SECONDS:
            response = await self.handler(request)
            self.body, self.made_at = bytes(response.body), now
            self.content_type = response.headers["Content-Type"]
        return web.Response(body=self.body, headers={"Content-Type": self.content_type})


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status,
                        content_type="application/json")


def error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


class ApiError(Exception):
    """What a client got wrong: the status and the message of the JSON error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@web.middleware
async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """The bearer token (when the service has one), then the handler; ApiError, and aiohttp's
    own 404, 405 and 413, become JSON errors. One middleware: each costs every request."""
    config = request.app[CONFIG]
    if config.hosts is not None and not config.hosts.allows(request.headers.get("Host")):
        return error(421, f"Host {request.headers.get('Host', '')[:100]!r} is not a name this "
                          "service answers to (serve --allow-host adds one)")
    problem = cross_site_problem(request.method, request.headers, request.scheme,
                                 request.headers.get("Host", ""))
    if problem is not None:
        return error(403, problem)
    if needs_json(request.method, request.headers.get("Content-Type", ""),
                  request.can_read_body):
        return error(415, "send the request body as JSON, with Content-Type: application/json")
    if config.token and request.path not in OPEN_PATHS and not _token_ok(request, config.token):
        response = error(401, "missing or wrong token: send Authorization: Bearer TOKEN")
        response.headers["WWW-Authenticate"] = 'Bearer realm="crawler"'
        return response
    try:
        return await handler(request)
    except ApiError as exc:
        return error(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        words = {413: f"the request body is over {config.max_body_bytes} bytes",
                 404: "no such endpoint", 405: f"{request.method} is not allowed here"}
        return error(exc.status, words.get(exc.status, exc.reason))


def _token_ok(request: web.Request, token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        given = value.encode("utf-8")
    except UnicodeError:  # not a token anybody was given
        return False
    return scheme.lower() == "bearer" and hmac.compare_digest(given, token.encode())


async def security_headers(_: web.Request, response: web.StreamResponse) -> None:
    """No page may frame the dashboard or sniff a response into another type."""
    response.headers.update(FRAMING_HEADERS)


def job_view(job: JobFiles, supervisor: Supervisor) -> dict[str, Any]:
    """GET /jobs/{id}: the job's state and numbers, live while it runs."""
    spec, life = job.spec(), job.state()
    report = job.report()
    live = supervisor.live.get(job.id) if job.id in supervisor.active else None
    if live is not None:
        pages, errors = live["pages"], live["errors"]
        queued, in_flight = live["queued"], live["in_flight"]
    elif report is not None:
        pages, errors, queued, in_flight = report.records, report.errors, report.pending, 0
    else:
        pages = errors = queued = in_flight = 0
    return {"id": job.id, "state": life.state, "pages": pages, "errors": errors,
            "queued": queued, "in_flight": in_flight, "rate": supervisor.rate(job.id),
            "started_at": life.started_at, "finished_at": life.finished_at,
            "report": report.json if report is not None else None, "error": life.error,
            "seeds": [without_password(seed) for seed in spec.seeds],
            "name": spec.name, "settings": shown_settings(spec.settings, job.rules()),
            "schedule": spec.schedule,
            "next_run_at": life.next_run_at, "created_at": spec.created_at, "runs": life.runs}


def _job(request: web.Request) -> JobFiles:
    if not JOB_ID.fullmatch(request.match_info["id"]):
        raise ApiError(404, f"no job {request.match_info['id'][:40]!r}")
    job = request.app[SUPERVISOR].store.get(request.match_info["id"])
    if job is None:
        raise ApiError(404, f"no job {request.match_info['id']!r}")
    return job


async def health(request: web.Request) -> web.Response:
    supervisor = request.app[SUPERVISOR]
    return json_response({"status": "ok", "running": len(supervisor.active)})


async def dashboard(_: web.Request) -> web.Response:
    page = resources.files("crawler.service").joinpath("dashboard.html").read_bytes()
    return web.Response(body=page, content_type="text/html", charset="utf-8")


async def openapi(_: web.Request) -> web.Response:
    return json_response(OPENAPI)


async def create_job(request: web.Request) -> web.Response:
    config, supervisor = request.app[CONFIG], request.app[SUPERVISOR]
    body = await request.read()
    try:
        checked = check_request(body, config.limits)
    except CrawlerError as exc:
        return error(400, str(exc))
    refused = await refused_seed(checked.seeds, supervisor.allow_networks)
    if refused is None and checked.settings.get("webhook"):
        refused = await refused_webhook(checked.settings["webhook"], supervisor.allow_networks)
    if refused is not None:
        return error(400, refused)
    store = supervisor.store
    async with store.creating:  # one at a time: two never replace the same job
        if len(store) >= config.max_kept_jobs:
            oldest = next((job for job in store.jobs(tuple(ENDED))
                           if job.id not in supervisor.active
                           and job.state().next_run_at is None), None)
            if oldest is None:
                return error(429, f"the service keeps at most {config.max_kept_jobs} jobs and "
                                  "none has ended; cancel one or wait")
            supervisor.version += 1
            await store.remove(oldest)
        spec = JobSpec(new_job_id(), checked.seeds, checked.settings, checked.schedule,
                       name=checked.name)
        await store.create(spec, checked.files)
    supervisor.version += 1
    supervisor.wake()
    return json_response({"id": spec.id}, 201)


async def list_jobs(request: web.Request) -> web.Response:
    """GET /jobs[?state=S...][&limit=N][&after=ID][&order=newest]: a page of jobs, oldest
    first (or newest), each with its first LISTED_SEEDS seeds and `seeds_count`; `next` is the
    `after` of the next page (null at the end)."""
    supervisor = request.app[SUPERVISOR]
    wanted = tuple(sorted(set(request.query.getall("state", []))))
    bad = [state for state in wanted if state not in STATES]
    if bad:
        return error(400, f"unknown state {bad[0][:40]!r} (known: {', '.join(STATES)})")
    limit = _int_query(request, "limit", LIST_LIMIT, LIST_MAX) or LIST_LIMIT
    after = request.query.get("after", "")
    if after and not JOB_ID.fullmatch(after):
        return error(400, "after must be a job id (the `next` of the page before)")
    newest = request.query.get("order", "oldest") == "newest"

    def build() -> dict[str, Any]:
        page: list[dict[str, Any]] = []
        for job in supervisor.store.jobs(wanted, after or None, newest):
            if len(page) == limit:
                return {"jobs": page, "next": page[-1]["id"]}
            view = job_view(job, supervisor)
            view["seeds_count"] = len(view["seeds"])
            view["seeds"] = view["seeds"][:LISTED_SEEDS]
            page.append(view)
        return {"jobs": page, "next": None}
    return cached(request.app[VIEWS].get(("jobs", wanted, limit, after, newest), build))


async def get_job(request: web.Request) -> web.Response:
    supervisor = request.app[SUPERVISOR]
    key = ("job", request.match_info["id"])
    entry = request.app[VIEWS].entries.get(key)  # a cached view skips the directory check
    if entry is None:
        _job(request)
    return cached(request.app[VIEWS].get(key, lambda: job_view(_job(request), supervisor)))


def cached(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


def _int_query(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > high:
        raise ApiError(400, f"{name} must be an integer from 0 to {high}")
    return int(raw)


async def stream_rows(request: web.Request, kind: str) -> web.StreamResponse:
    """GET /jobs/{id}/records or /items: NDJSON, each line a row with its `cursor`."""
    job = _job(request)
    after = _int_query(request, "after", 0, 2**62)
    limit = _int_query(request, "limit", 1000, MAX_LIMIT)
    last = _int_query(request, "last", 0, MAX_LIMIT)
    follow = request.query.get("follow", "false").lower() in ("true", "1", "yes")
    errors_only = request.query.get("errors", "false").lower() in ("true", "1", "yes")
    if not follow:
        return await _stream(request, job, kind, after, limit, last, False, errors_only)
    followers = request.app[FOLLOWERS]
    if followers[0] >= MAX_FOLLOWERS:
        return error(429, f"{MAX_FOLLOWERS} follow streams are open: close one, or page with "
                          "after= instead")
    followers[0] += 1
    try:
        return await _stream(request, job, kind, after, limit, last, True, errors_only)
    finally:
        followers[0] -= 1


async def _stream(request: web.Request, job: JobFiles, kind: str, after: int, limit: int,
                  last: int, follow: bool, errors_only: bool) -> web.StreamResponse:
    supervisor = request.app[SUPERVISOR]
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    sent = 0
    while True:
        batch = min(limit - sent, 1000) if not follow else 1000
        rows = await asyncio.to_thread(read_rows, job.db_path, kind, after, batch,
                                       last=last, errors_only=errors_only) if batch else []
        for cursor, row in rows:
            await response.write(orjson.dumps({"cursor": cursor, **row}) + b"\n")
            after = cursor
        sent += len(rows)
        if last:
            break
        if rows and (follow or sent < limit):
            continue
        if not follow:
            break
        if job.state_name not in ("queued", "running") and job.id not in supervisor.active:
            rows = await asyncio.to_thread(read_rows, job.db_path, kind, after, 1)
            if not rows:  # the job ended and everything it wrote was sent
                break
            continue
        await asyncio.sleep(FOLLOW_POLL_SECONDS)
    await response.write_eof()
    return response


async def records(request: web.Request) -> web.StreamResponse:
    return await stream_rows(request, "records")


async def items(request: web.Request) -> web.StreamResponse:
    return await stream_rows(request, "items")


def _action(name: str) -> Any:
    async def act(request: web.Request) -> web.Response:
        supervisor, job = request.app[SUPERVISOR], _job(request)
        try:
            getattr(supervisor, name)(job)
        except Conflict as exc:
            return error(409, str(exc))
        return json_response(job_view(job, supervisor))
    return act


async def delete_job(request: web.Request) -> web.Response:
    """DELETE /jobs/{id}: stop the job if it runs, remove it and its records; 204, and 404
    from then on."""
    await request.app[SUPERVISOR].delete(_job(request))
    return web.Response(status=204)


def build_app(supervisor: Supervisor, config: ServiceConfig) -> web.Application:
    app = web.Application(middlewares=[guard],
                          client_max_size=config.max_body_bytes)
    app.on_response_prepare.append(security_headers)
    app[SUPERVISOR] = supervisor
    app[CONFIG] = config
    app[VIEWS] = ViewCache(supervisor)
    app[FOLLOWERS] = [0]
    registry = registry_for(lambda: {job_id: supervisor.live[job_id]
                                     for job_id in list(supervisor.live)})
    app.router.add_get("/", dashboard)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", CachedMetrics(registry))
    app.router.add_get("/openapi.json", openapi)
    app.router.add_post("/jobs", create_job)
    app.router.add_get("/jobs", list_jobs)
    app.router.add_get("/jobs/{id}", get_job)
    app.router.add_delete("/jobs/{id}", delete_job)
    app.router.add_get("/jobs/{id}/records", records)
    app.router.add_get("/jobs/{id}/items", items)
    for name in ("pause", "resume", "recrawl", "cancel"):
        app.router.add_post(f"/jobs/{{id}}/{name}", _action(name))
    return app

