"""A job request (`POST /jobs`) checked as the command line checks its flags, and the crawl
settings a job's process runs with.

Seeds that arrive over the API are untrusted, and so are their settings. A client must not
choose where the service writes (`job_dir`, `outputs`, `status_file`), what code it runs
(`extractor`: only the functions the service's `--allow-extractor` names), which servers it
talks to besides the web (`frontier`, `metrics_listen`), or which private networks it may reach
(`allow_networks`: only the service's own `--allow-network`). Credentials (headers, cookies,
sign-in fields, proxies) are taken only from a service whose operator allows them
(`--allow-credentials`); a job view shows them redacted.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from crawler.errors import UsageError
from crawler.extract.rules import compile_rules
from crawler.extract.setup import extraction_for
from crawler.fetch.cookies import read_cookies_file
from crawler.frontier.seeds import Seeds, parse_seeds
from crawler.jobs.cron import cron_problem
from crawler.service.jobs import RULES
from crawler.settings import Settings, load_settings
from crawler.urls import BadURL, canonical
from crawler.util.headers import REDACTED, parse_header
from crawler.util.proxy_url import parse_proxy

RULES_FILE = RULES  # the rules object a client gave, as a file the crawl reads
SERVICE_ONLY = frozenset({"job_dir", "outputs", "status_file", "metrics_listen", "frontier",
                          "allow_networks", "job_name", "recrawl", "log_level", "quiet",
                          # outputs and a cluster are the service's: these have no use
                          "fields", "csv_escape_formulas", "warc_max_bytes", "lease_seconds",
                          "outage_seconds", "seen_buckets", "pg_pool_size",
                          "render_browser", "login_hook",  # a client never names code to run
                          "netrc", "netrc_file", "proxy_env",  # nor the server's files, env
                          "cookies", "headers", "login", "login_fields", "proxies"})
# what serve --allow-credentials lets a job set; `cookies` is then the text of a cookies.txt
CREDENTIALS = frozenset({"cookies", "headers", "login", "login_fields", "proxies"})
COOKIES_FILE = "cookies.txt"
REQUEST_KEYS = frozenset({"seeds", "settings", "schedule", "name"})
MAX_NAME = 200
SOURCE = "settings.{name}"


class BadRequest(UsageError):
    """A job request the service refuses; the message is the API's `error`."""


@dataclass(frozen=True)
class Limits:
    """The service's caps on what one request may ask for."""

    max_seeds: int = 10_000
    extractors: frozenset[str] = frozenset()  # --allow-extractor: functions jobs may name
    schedule_seconds: bool = False  # --schedule-seconds: six-field schedules (seconds)
    credentials: bool = False  # --allow-credentials: jobs may carry CREDENTIALS


@dataclass(frozen=True)
class CheckedRequest:
    seeds: list[str]
    settings: dict[str, Any]  # as the client gave them, the rules object taken out
    schedule: str | None
    files: dict[str, bytes]  # written into the job's directory (the rules)
    name: str | None = None


def check_request(body: bytes, limits: Limits) -> CheckedRequest:
    """The request's seeds, settings and schedule, or BadRequest saying what is wrong."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object with \"seeds\"")
    unknown = sorted(set(data) - REQUEST_KEYS)
    if unknown:
        raise BadRequest(f"unknown key {unknown[0]!r} (known: seeds, settings, schedule, name)")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(
            name) > MAX_NAME or not name.isprintable()):
        raise BadRequest(f"\"name\" must be one line of printable text, at most {MAX_NAME} "
                         "characters")
    seeds = _seeds(data.get("seeds"), limits)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise BadRequest("\"settings\" must be a JSON object of setting names and values")
    refused = sorted(set(settings) & (SERVICE_ONLY - (
        CREDENTIALS if limits.credentials else frozenset())))
    if refused and refused[0] in CREDENTIALS:
        raise BadRequest(f"setting {refused[0]!r} carries credentials, which this service "
                         "takes only when its operator allows them (serve --allow-credentials)")
    if refused:
        raise BadRequest(f"setting {refused[0]!r} cannot be set over the API (the service "
                         "sets it)")
    extractor = settings.get("extractor")
    if extractor and extractor not in limits.extractors:
        raise BadRequest(f"extractor {extractor!r} is not one this service runs (its "
                         "--allow-extractor names them)")
    settings, files = _rules_file(settings)
    settings, cookies = _cookies_file(settings)
    schedule = data.get("schedule")
    if schedule is not None and (problem := cron_problem(
            schedule, limits.schedule_seconds)) is not None:
        raise BadRequest(problem)
    # validated as the command line validates: the same checks and the same words
    checked = load_settings({**settings, **({"extract": RULES_FILE} if files else {})},
                            source=SOURCE)
    over_ceiling(checked)
    if files:
        compile_rules(orjson.loads(files[RULES_FILE]), "settings.extract")
    elif checked.extract or checked.extractor:
        extraction_for(checked)
    seeds_of(seeds, checked)
    return CheckedRequest(seeds, settings, schedule, {**files, **cookies}, name)


# What one job of the service may ask for at most: a client must not be able to fork a
# hundred thousand parse workers, hold a million connections, or park a job slot for a
# thousand years behind a delay. Each is far above what a crawl needs.
CEILINGS: dict[str, float] = {
    "concurrency": 256, "per_host": 32, "per_ip": 256, "parse_workers": os.cpu_count() or 1,
    "max_body_bytes": 100 << 20, "max_header_bytes": 65536, "max_headers": 1000,
    "robots_max_bytes": 5 << 20, "frontier_memory": 1_000_000, "sink_batch_size": 10_000,
    "max_links_per_page": 100_000, "max_url_length": 65536, "max_redirects": 30,
    "retries": 10, "timeout": 600, "connect_timeout": 120, "parse_timeout": 120,
    "shutdown_grace": 120, "delay": 3600, "max_delay": 3600, "max_retry_after": 3600,
    "max_crawl_delay": 3600, "host_pause": 3600, "backoff_base": 600,
    "robots_retry_seconds": 3600, "autothrottle_start": 3600, "sink_flush_seconds": 60,
    "progress_seconds": 3600, "parse_inline_max_bytes": 100 << 20, "parse_memory_mb": 8192,
    "render_tabs": 16, "render_timeout": 120, "render_settle_ms": 10_000, "render_scrolls": 50,
    "render_max_requests": 2000, "render_restart_pages": 100_000, "render_memory_mb": 8192,
    # trap limits: a client may tighten them, loosen them only so far
    "max_pages_per_host": 1_000_000, "max_query_variants": 100_000, "max_pattern_chain": 10_000,
    "max_path_segments": 256, "max_segment_repeats": 64,
    "login_attempts": 20, "proxy_cooldown": 3600, "host_failures": 1000,
    "autothrottle_target": 3600,
    "recrawl_after": 366 * 86400,
}
# 0 means no cap for these: not over the API
NO_UNLIMITED = ("parse_memory_mb", "frontier_memory", "max_pages_per_host",
                "max_query_variants", "max_pattern_chain")
# lists a client gives: at most this many entries (each is compiled or checked per URL)
COUNT_CEILINGS: dict[str, int] = {"allow": 100, "deny": 100, "strip_params": 100,
                                  "deny_networks": 1000, "headers": 100, "proxies": 100,
                                  "login_fields": 100}
# what a client may set freely: choices, switches, and limits that only narrow the crawl
# (max_pages and max_depth: a job as large as its client asks, as from the command line)
CLIENT_FREE = frozenset({
    "max_pages", "max_depth", "simhash", "sitemaps", "scope", "user_agent", "keep_cookies",
    "proxy_rotation", "robots", "autothrottle", "sort_query", "obey_rel_nofollow",
    "parse_mode", "record_links", "record_headers", "extract", "content", "content_method",
    "structured_data",
    "skip_near_duplicates", "robots_cache_seconds",  # bounded by their own checks
    "extractor", "render", "render_wait_selector", "render_load_media",
    # a job's receiver: its address is judged at POST /jobs as a seed's is (seed_guard),
    # its secret never shown
    "webhook", "webhook_secret", "webhook_batch"})


def over_ceiling(settings: Settings) -> None:
    """BadRequest naming the first setting over what the service allows."""
    for name, ceiling in CEILINGS.items():
        value = getattr(settings, name)
        if value > ceiling or (value == 0 and name in NO_UNLIMITED):
            raise BadRequest(f"setting {name}={value:g} is more than this service allows "
                             f"(at most {ceiling:g})")
    for name, most in COUNT_CEILINGS.items():
        if len(getattr(settings, name)) > most:
            raise BadRequest(f"setting {name} has {len(getattr(settings, name))} entries; "
                             f"this service takes at most {most}")


def without_password(seed: str) -> str:
    """A seed as a job view shows it: `user:[redacted]@` for any password it carries."""
    scheme, sep, rest = seed.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return seed
    return f"{scheme}://{userinfo.split(':', 1)[0]}:[redacted]@{hostport}{slash}{path}"


def _seeds(value: Any, limits: Limits) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest("\"seeds\" must be a non-empty list of URLs")
    if len(value) > limits.max_seeds:
        raise BadRequest(f"{len(value)} seeds: a job takes at most {limits.max_seeds}")
    return value


def seeds_of(urls: list[str], settings: Settings) -> Seeds:
    """The seeds read as a seeds file is (the same words for a bad one); any bad seed refuses
    the request, since nobody reads the log of a job that has not started."""
    for number, url in enumerate(urls, 1):
        if "\n" in url or "\r" in url:
            raise BadRequest(f"seed {number}: one URL, without line breaks")
        try:
            canonical(url.strip(), rules=settings.url_rules)
        except BadURL as exc:
            raise BadRequest(f"seed {number} {url!r}: {exc}") from None
    return parse_seeds("\n".join(urls).encode(), "seeds", settings.url_rules)


def _rules_file(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Extraction rules given as an object become the job's rules file."""
    rules = settings.get("extract")
    if isinstance(rules, dict):
        return ({k: v for k, v in settings.items() if k != "extract"},
                {RULES_FILE: orjson.dumps(rules)})
    if rules is not None:
        raise BadRequest("setting 'extract' takes the rules as an object, "
                         "such as {\"rule\": [{\"fields\": {\"title\": \"h1\"}}]}")
    return settings, {}


def _cookies_file(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A cookies.txt given as text becomes the job's cookies file, checked as --cookies is."""
    text = settings.get("cookies")
    if text is None:
        return settings, {}
    if not isinstance(text, str):
        raise BadRequest("setting 'cookies' takes the text of a Netscape cookies.txt")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / COOKIES_FILE
        path.write_text(text)
        try:
            read_cookies_file(path, aiohttp.CookieJar(unsafe=True))
        except UsageError as exc:
            raise BadRequest(str(exc).replace(str(path), "settings.cookies")) from None
    return ({k: v for k, v in settings.items() if k != "cookies"},
            {COOKIES_FILE: text.encode()})


def _entries(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def shown_settings(settings: dict[str, Any], rules: Any = None) -> dict[str, Any]:
    """A job's settings as its view shows them: its rules object as `extract`, and every
    credential redacted (a header by its name, a login field by its name, a proxy by its
    address)."""
    shown = dict(settings)
    if rules is not None:
        shown["extract"] = rules
    if "headers" in shown:
        headers = [parse_header(entry) for entry in _entries(shown["headers"])]
        shown["headers"] = [f"{h.host + ' ' if h.host else ''}{h.name}: {REDACTED}"
                            for h in headers]
    if "login_fields" in shown:
        shown["login_fields"] = [f"{entry.partition('=')[0]}={REDACTED}"
                                 for entry in _entries(shown["login_fields"])]
    if "proxies" in shown:
        shown["proxies"] = [parse_proxy(entry).label for entry in _entries(shown["proxies"])]
    if "cookies" in shown:
        shown["cookies"] = REDACTED
    if shown.get("webhook_secret"):
        shown["webhook_secret"] = REDACTED
    return shown


def job_settings(job_root: Path, requested: dict[str, Any], allow_networks: list[str],
                 recrawl: bool, quiet: bool = True) -> Settings:
    """The settings a job's crawl runs with: the client's, and the service's own."""
    own: dict[str, Any] = {
        "job_dir": str(job_root / "crawl"), "status_file": str(job_root / "status.json"),
        "job_name": job_root.name, "allow_networks": list(allow_networks),
        "recrawl": "true" if recrawl else "false", "quiet": "true" if quiet else "false",
    }
    if (job_root / RULES_FILE).exists():
        own["extract"] = str(job_root / RULES_FILE)
    if (job_root / COOKIES_FILE).exists():
        own["cookies"] = str(job_root / COOKIES_FILE)
    return load_settings({**requested, **own}, source=SOURCE)
