"""One frozen, validated settings object: defaults <- config file <- CRAWLER_* environment <- flags.

Every setting is a field of `Settings`; its metadata carries the help text and the check, so the
command line, the config file, the environment and the option reference (docs/options.md)
describe the same thing.

Over 400 lines: one declaration per option (over 80), each with its help text and check, in
the one table the command line, the config file, the environment and the option reference are
all made from. Splitting the table would split that single source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from crawler.errors import SettingsError
from crawler.urls import DEFAULT_STRIP_PARAMS, UrlRules
from crawler.util.functions import function_spec_problem
from crawler.util.headers import check_headers
from crawler.util.proxy_url import check_proxies
from crawler.util.tomlfile import read_toml
from crawler.version import __version__

log = logging.getLogger(__name__)
Check = Callable[[Any], str | None]  # returns what is allowed when the value is not


def _at_least(low: float) -> Check:
    return lambda v: None if v >= low else f"must be >= {low}"


def _one_of(*choices: str) -> Check:
    return lambda v: None if v in choices else f"must be one of: {', '.join(choices)}"


def _regexes(values: tuple[str, ...]) -> str | None:
    if not values:
        return None
    import regex  # what crawler.frontier.scope runs them with (a time bound per URL)

    for pattern in values:
        try:
            regex.compile(pattern)
        except regex.error as exc:
            return f"{pattern!r} is not a valid regular expression ({exc})"
    return None


def _between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _globs(values: tuple[str, ...]) -> str | None:
    bad = [v for v in values if "&" in v or "=" in v]
    return f"{bad[0]!r} is not a parameter name glob" if bad else None


def _networks(values: tuple[str, ...]) -> str | None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{value!r} is not a network such as 10.0.0.0/8 or fd00::/8"
    return None


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _header_text(value: str) -> str | None:
    """A request header's value: not empty, printable, one line (CR/LF would start another
    header)."""
    if not value.strip():
        return "must not be empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must be one line of printable text (no CR, LF or other control characters)"
    return None


def _name_values(values: tuple[str, ...]) -> str | None:
    """NAME=VALUE entries; a problem names the entry by its name only (values are secrets)."""
    for number, value in enumerate(values, 1):
        name, equals, _ = value.partition("=")
        if not equals or not name.strip():
            return f"entry {number} is not NAME=VALUE"
    return None


def _http_url_or_empty(value: str) -> str | None:
    return None if value == "" or value.startswith(("http://", "https://")) else \
        "must be an http:// or https:// URL"


def _frontier_url(value: str) -> str | None:
    if value == "" or value.startswith(("redis://", "rediss://", "unix://", "redis-cluster://")):
        return None
    return ("must be empty (the job directory), a redis://HOST:PORT/DB URL or "
            "redis-cluster://HOST:PORT")


def split_listen(value: str) -> tuple[str, int]:
    """("127.0.0.1", 9100) from "127.0.0.1:9100" ("[::1]:9100" for IPv6); ValueError if not."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _listen_address(value: str) -> str | None:
    try:
        if value:
            split_listen(value)
    except ValueError:
        return "must be HOST:PORT, such as 127.0.0.1:9100"
    return None


def _job_name(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", value):
        return None
    return "must be 1-100 letters, digits and _ . : -"


def _webhook_url(value: str) -> str | None:
    if value == "":
        return None
    if not value.startswith(("http://", "https://")):
        return "must be an http:// or https:// URL (or empty: no webhook)"
    if "@" in value.partition("://")[2].partition("/")[0]:
        return "must not carry user:password (deliveries are signed with --webhook-secret)"
    return None


SCOPES = ("host", "domain", "any")
CONTENT_FORMS = ("none", "text", "markdown", "html")
CONTENT_METHODS = ("careful", "fast")
RENDER_MODES = ("never", "auto", "always")
PROXY_ROTATIONS = ("host", "request")
PARSE_MODES = ("auto", "process", "inline", "thread")
LOG_LEVELS = ("debug", "info", "warning", "error")


def setting(default: Any, help: str, check: Check | None = None) -> Any:
    """A settings field with its help text and validity check."""
    return field(default=default, metadata={"help": help, "check": check})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a crawl can be told; built once by `load_settings` and passed down."""

    outputs: tuple[str, ...] = setting(
        (), "extra result sinks, picked by suffix or scheme: .jsonl, .csv, .db/.sqlite/"
        ".sqlite3, .warc/.warc.gz, postgresql://USER@HOST:PORT/DB (repeatable)"
    )
    fields: str = setting("", "the record fields CSV and JSON Lines outputs keep, in order, "
                          "comma-separated: url,status,title,data.price (data.KEY, "
                          "structured.KEY, headers.KEY for keys of those; empty = every field)")
    job_dir: str = setting(
        "crawl-job", "job directory: the job's state and embedded SQLite results (crawl.db), "
        "its lock and its last run report; run again with the same one to resume", _non_empty
    )
    recrawl: bool = setting(False, "start a new run of a finished job: refetch every known URL "
                            "with If-None-Match/If-Modified-Since and label what changed")
    recrawl_after: float = setting(0.0, "seconds after a finished run before the next start "
                                   "recrawls on its own (0 = only with --recrawl); for "
                                   "scheduled runs", _at_least(0))
    max_pages: int = setting(0, "stop admitting URLs after this many (0 = no limit)", _at_least(0))
    frontier_memory: int = setting(100000, "queued URLs kept in memory; the rest wait in the "
                                   "job directory's SQLite (0 = keep all in memory)",
                                   _at_least(0))
    frontier: str = setting(
        "", "where the frontier lives: empty = the job directory (one process); "
        "redis://HOST:PORT/DB = Redis, shared by every `worker` of --job-name; "
        "redis-cluster://HOST:PORT = a Redis Cluster", _frontier_url)
    job_name: str = setting("crawl", "the job's name in Redis and in PostgreSQL outputs; "
                            "workers of one job use the same", _job_name)
    lease_seconds: float = setting(60.0, "Redis frontier: seconds a worker holds a URL without "
                                   "renewing it (it died) before the URL goes back to the queue",
                                   _at_least(1))
    outage_seconds: float = setting(300.0, "seconds the crawl waits, retrying, for an unreachable "
                                    "Redis or PostgreSQL before it stops (nothing is lost)",
                                    _at_least(0))
    seen_buckets: int = setting(16384, "Redis frontier: sets the seen-set is split into, set "
                                "when the job is seeded; about 8 bytes a URL while URLs per "
                                "bucket stay under Redis's set-max-intset-entries", _at_least(1))
    pg_pool_size: int = setting(4, "connections in a PostgreSQL output's pool", _at_least(1))
    simhash: bool = setting(False, "store the 64-bit simhash of each HTML page's text in its "
                            "record (`simhash`; about 0.4 ms of CPU a page, so off unless asked "
                            "for or --skip-near-duplicates needs it)")
    skip_near_duplicates: int = setting(0, "do not follow the links of a page whose text's "
                                        "simhash is within N bits of a page seen before in the "
                                        "run (0 = follow all; 3 is a good start)",
                                        _between(0, 16))
    sitemaps: bool = setting(False, "also queue the URLs the seed hosts' sitemaps list "
                             "(robots.txt Sitemap: lines, else /sitemap.xml; indexes, gzip "
                             "and text sitemaps too), under the same rules as links")
    max_depth: int = setting(0, "follow links at most this deep from a seed (0 = no limit)",
                             _at_least(0))
    concurrency: int = setting(32, "fetches in flight at once, over all hosts", _at_least(1))
    per_host: int = setting(2, "fetches in flight at once to one host (its ports and schemes "
                            "together)", _at_least(1))
    per_ip: int = setting(0, "fetches in flight at once to one IP address, over all its hosts "
                          "(shared hosting; 0 = no limit)", _at_least(0))
    delay: float = setting(0.0, "seconds between the starts of two requests to one host",
                           _at_least(0))
    scope: str = setting(
        "host", "which links are fetched: host (the seeds' scheme+host+port), domain (the seeds' "
        "domains and their subdomains) or any", _one_of(*SCOPES))
    allow: tuple[str, ...] = setting(
        (), "only fetch in-scope URLs matching one of these regexes (repeatable)", _regexes)
    deny: tuple[str, ...] = setting(
        (), "never fetch URLs matching one of these regexes (repeatable)", _regexes)
    user_agent: str = setting(f"crawler/{__version__}", "User-Agent header sent with every "
                              "request; its first word before '/' is the robots.txt product token",
                              _header_text)
    headers: tuple[str, ...] = setting(
        (), "a request header, 'Name: value' for every host or 'HOST Name: value' for one host "
        "('*.HOST' for its subdomains too); its value never appears in logs, reports or WARC "
        "request records (repeatable)", check_headers)
    cookies: str = setting("", "a Netscape cookies.txt (as curl -c and wget --save-cookies "
                           "write it) whose cookies the crawl starts with")
    keep_cookies: bool = setting(True, "keep the cookies sites set, in the job directory "
                                 "(cookies.json, owner-only) so a resumed or recrawled job "
                                 "stays signed in; --no-keep-cookies sends none but --cookies'")
    netrc: bool = setting(False, "send the credentials of ~/.netrc (or $NETRC) to their hosts "
                          "as Basic auth, as curl --netrc does (a `default` entry is not used)")
    netrc_file: str = setting("", "the same, from this netrc file")
    login: str = setting("", "sign in before crawling: the URL of the login page, whose form "
                         "is filled with --login-field (its hidden fields, such as CSRF tokens, "
                         "kept); a page redirecting back to it signs in again",
                         _http_url_or_empty)
    login_fields: tuple[str, ...] = setting(
        (), "a field of the login form, NAME=VALUE (repeatable); values never appear in logs "
        "or reports (CRAWLER_LOGIN_FIELDS keeps them off the command line)", _name_values)
    login_hook: str = setting(
        "", "module:function that signs in with the crawl's own session (async, given a "
        "crawler.LoginSession) before the first page, and again when a page redirects to "
        "--login", function_spec_problem)
    login_attempts: int = setting(3, "sign-ins a run may make after the first, when pages "
                                  "redirect to --login (signed out)", _at_least(0))
    proxies: tuple[str, ...] = setting(
        (), "send requests through this proxy: [SCHEME://][USER:PASSWORD@]HOST[:PORT], SCHEME "
        "http (default), https, socks4, socks5 or socks5h (the proxy resolves names); "
        "repeatable: each host keeps one proxy (see --proxy-rotation) and a failing proxy "
        "rests for --proxy-cooldown; credentials never appear in logs or records",
        check_proxies)
    proxy_env: bool = setting(False, "use the proxies of HTTP_PROXY, HTTPS_PROXY and ALL_PROXY "
                              "(when no --proxy is given) and go direct to the hosts of "
                              "NO_PROXY, as curl does")
    proxy_rotation: str = setting("host", "with several proxies: host (each host keeps the "
                                  "proxy it was given, so its session and address stay one) "
                                  "or request (each request takes the next proxy)",
                                  _one_of(*PROXY_ROTATIONS))
    proxy_cooldown: float = setting(60.0, "seconds a proxy that failed (refused the "
                                    "connection, failed its handshake or rejected the "
                                    "credentials) is left out of the rotation",
                                    _at_least(0))
    robots: bool = setting(True, "obey robots.txt, <meta name=robots> and X-Robots-Tag")
    robots_cache_seconds: float = setting(86400.0, "seconds a fetched robots.txt is trusted",
                                          _between(1, 86400))
    robots_retry_seconds: float = setting(60.0, "seconds before asking again for a robots.txt "
                                          "that failed with 5xx or a network error (its host "
                                          "is not crawled meanwhile)", _at_least(0.01))
    robots_max_bytes: int = setting(512000, "bytes of robots.txt parsed (RFC 9309: at least "
                                    "500 KiB)", _at_least(512000))
    autothrottle: bool = setting(False, "adapt each host's delay to its response time")
    autothrottle_start: float = setting(1.0, "autothrottle: the delay a host starts with, until "
                                        "its responses are timed", _at_least(0))
    autothrottle_target: float = setting(1.0, "autothrottle: requests per host in flight it "
                                         "aims at (delay = latency / target)", _at_least(0.1))
    max_delay: float = setting(60.0, "longest delay autothrottle and backoff may set",
                               _at_least(0))
    retries: int = setting(2, "extra attempts after a connection error, timeout, 429 or 5xx",
                           _at_least(0))
    backoff_base: float = setting(1.0, "seconds before the first retry; doubles each attempt, "
                                  "with jitter, up to max-delay", _at_least(0))
    max_retry_after: float = setting(600.0, "longest Retry-After honoured; a host asking for "
                                     "more is given up for this crawl", _at_least(0))
    max_crawl_delay: float = setting(300.0, "longest robots.txt Crawl-delay honoured; a host "
                                     "asking for more is given up for this crawl, a record "
                                     "per URL", _at_least(0))
    host_failures: int = setting(4, "timeouts or connection failures in a row after which a "
                                 "host is paused for --host-pause seconds; as many again give "
                                 "it up for this crawl, a record per URL (0 = never)",
                                 _at_least(0))
    host_pause: float = setting(60.0, "seconds a host that stopped answering is left alone "
                                "before it is tried again", _at_least(0))
    strip_params: tuple[str, ...] = setting(
        DEFAULT_STRIP_PARAMS, "query parameters removed from every URL (globs; repeatable; "
        "give '' to keep all)", _globs)
    sort_query: bool = setting(False, "sort query parameters, so ?b=1&a=2 and ?a=2&b=1 are "
                               "one URL")
    obey_rel_nofollow: bool = setting(True, "do not follow links marked rel=nofollow")
    timeout: float = setting(30.0, "total seconds per fetch: connect, headers and body",
                             _at_least(0.001))
    connect_timeout: float = setting(10.0, "seconds to open a connection", _at_least(0.001))
    max_body_bytes: int = setting(10 * 1024 * 1024,
                                  "bytes kept of a body; the rest is dropped and the record "
                                  "marked truncated", _at_least(1))
    max_redirects: int = setting(10, "redirect hops followed from one URL", _at_least(0))
    max_header_bytes: int = setting(16384, "longest response header line or field, in bytes",
                                    _at_least(1024))
    max_headers: int = setting(128, "most response header fields", _at_least(8))
    allow_networks: tuple[str, ...] = setting(
        (), "networks (CIDR) the crawl may connect to even when no seed is in them, e.g. "
        "10.0.0.0/8 (repeatable)", _networks)
    deny_networks: tuple[str, ...] = setting(
        (), "networks (CIDR) the crawl never connects to, whatever else allows them "
        "(repeatable)", _networks)
    max_url_length: int = setting(2048, "longer URLs are not followed (spider trap)",
                                  _at_least(64))
    max_path_segments: int = setting(32, "URLs with more path segments are not followed",
                                     _at_least(1))
    max_segment_repeats: int = setting(3, "URLs repeating one path segment more often "
                                       "(/a/a/a/a) are not followed", _at_least(1))
    max_pages_per_host: int = setting(100000, "URLs admitted per host (0 = no limit)",
                                      _at_least(0))
    max_pattern_chain: int = setting(150, "links followed in a row between pages of one path "
                                     "pattern (digits as N: /events/2026/3 -> /events/2026/4); "
                                     "past it they are a trap, so infinite calendars end "
                                     "(0 = no limit)", _at_least(0))
    max_query_variants: int = setting(1000, "distinct queries admitted for one path "
                                      "(calendars, session ids; 0 = no limit)", _at_least(0))
    max_links_per_page: int = setting(10000, "links taken from one page; the rest are "
                                      "ignored", _at_least(1))
    parse_mode: str = setting(
        "auto", "where HTML is parsed: auto (the process pool with two CPUs or more; with one, "
        "inline up to --parse-inline-max-bytes and the pool above), process (every page in the "
        "pool: isolated, with a deadline), inline (on the event loop) or thread",
        _one_of(*PARSE_MODES))
    parse_inline_max_bytes: int = setting(262144, "auto mode on one CPU: bigger pages are "
                                          "parsed in the process pool", _at_least(0))
    parse_workers: int = setting(0, "parse processes (0 = one per CPU core)", _at_least(0))
    parse_timeout: float = setting(30.0, "seconds a page (or a batch of pages sent together) "
                                   "may take to parse; past it the worker is killed and each "
                                   "page is parsed again alone", _at_least(0.01))
    parse_memory_mb: int = setting(2048, "address space each parse worker may use, in MiB; a "
                                   "page that needs more fails alone (0 = no limit)",
                                   _at_least(0))
    record_links: bool = setting(True, "store each page's outgoing links in its record")
    record_headers: bool = setting(False, "store every response header in the record's "
                                   "`headers`")
    csv_escape_formulas: bool = setting(True, "a CSV cell starting with = + - @ (a formula "
                                        "to a spreadsheet) gets a leading '")
    warc_max_bytes: int = setting(1_000_000_000, "a WARC output (-o crawl.warc.gz) starts its "
                                  "next file, with the next serial number, past this size",
                                  _at_least(1))
    extract: str = setting("", "a rules file (TOML, or JSON) of CSS selectors whose matches fill "
                           "each HTML page's `data` (see Scraping)")
    content: str = setting("none", "each HTML page's main content, boilerplate removed, in its "
                           "`content`: none, text, markdown or html (trafilatura, in the parse "
                           "pool)", _one_of(*CONTENT_FORMS))
    content_method: str = setting("careful", "how --content finds the main content: careful "
                                  "(trafilatura on the main region, widened to the element "
                                  "holding its text; the best F1, about 65 ms of CPU a page) or "
                                  "fast (the region's own text, trafilatura only on product "
                                  "pages and small regions; about 9 ms a page)",
                                  _one_of(*CONTENT_METHODS))
    structured_data: bool = setting(True, "each HTML page's JSON-LD, microdata and OpenGraph / "
                                    "Twitter meta in its record's `structured` (about 0.5 ms "
                                    "of CPU a page)")
    extractor: str = setting("", "module:function called with each HTML page; its dict is the "
                             "page's `data`, the dicts it yields are items",
                             function_spec_problem)
    render: str = setting("never", "render HTML pages in headless Chromium before parsing: "
                          "never, auto (the pages that look built by their scripts, learned "
                          "per host) or always", _one_of(*RENDER_MODES))
    render_tabs: int = setting(4, "pages rendered at once (browser tabs)", _at_least(1))
    render_timeout: float = setting(20.0, "seconds one page may take to render; past it the "
                                    "page's DOM as it is then is used", _at_least(1))
    render_settle_ms: int = setting(500, "a rendered page is done when no request is in flight "
                                    "and its DOM has not changed for this long", _at_least(50))
    render_wait_selector: str = setting("", "also wait until this CSS selector matches in the "
                                        "rendered page (or --render-timeout)")
    render_scrolls: int = setting(0, "scroll each rendered page to the bottom this many times "
                                  "(pages that load more as you scroll)", _at_least(0))
    render_load_media: bool = setting(False, "let rendered pages load images, fonts and media "
                                      "(blocked by default: the DOM does not need them)")
    render_max_requests: int = setting(200, "requests one rendered page may make; more are "
                                       "refused", _at_least(1))
    render_restart_pages: int = setting(500, "restart the browser after this many pages",
                                        _at_least(1))
    render_memory_mb: int = setting(2048, "restart the browser once its processes use more "
                                    "than this much memory (PSS)", _at_least(64))
    render_browser: str = setting("", "the Chromium to run (empty = chromium on PATH)")
    sink_batch_size: int = setting(200, "records written to the sinks per batch", _at_least(1))
    sink_flush_seconds: float = setting(1.0, "longest a finished record waits to be written",
                                        _at_least(0.01))
    progress_seconds: float = setting(5.0, "seconds between progress log lines when stderr is "
                                      "not a terminal", _at_least(0.1))
    webhook: str = setting(
        "", "after the first run, POST the pages each run finds new, changed or gone to this "
        "URL, in signed JSON batches (Standard Webhooks headers); a change carries a diff of "
        "--content and the changed data fields; retried with backoff, kept in the job "
        "directory until delivered (empty = none)", _webhook_url)
    webhook_secret: str = setting(
        "", "the secret that signs webhook deliveries (HMAC-SHA256; a whsec_ secret is "
        "base64); never logged or shown")
    webhook_batch: int = setting(100, "changes at most in one webhook delivery",
                                 _between(1, 1000))
    shutdown_grace: float = setting(10.0, "seconds in-flight fetches get to finish after "
                                    "Ctrl-C/SIGTERM", _at_least(0))
    log_level: str = setting("info", "log verbosity",
                             _one_of(*LOG_LEVELS))
    quiet: bool = setting(False, "no progress line, no summary, only warnings and errors")
    metrics_listen: str = setting("", "serve Prometheus metrics at http://HOST:PORT/metrics "
                                  "while the crawl runs (empty = no metrics endpoint)",
                                  _listen_address)
    status_file: str = setting("", "rewrite the crawl's live numbers (pages, rate, queued, "
                               "in flight, errors) as JSON to this file every second")

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against: "crawler" in crawler/1.0."""
        return self.user_agent.split("/", 1)[0].split()[0].lower()

    @property
    def url_rules(self) -> UrlRules:
        return UrlRules(tuple(p for p in self.strip_params if p), self.sort_query)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied and validated."""
        return _build({**dataclasses.asdict(self), **changes}, {k: "code" for k in changes})


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# How --help, config/default.toml and docs/options.md group the settings.
GROUPS: list[tuple[str, list[str]]] = [
    ("Scope: what to crawl", ["scope", "allow", "deny", "sitemaps", "simhash",
                              "skip_near_duplicates",
                              "max_pages", "max_depth",
                              "strip_params", "sort_query", "obey_rel_nofollow"]),
    ("Politeness", ["concurrency", "per_host", "per_ip", "delay", "user_agent", "robots",
                    "robots_cache_seconds", "robots_retry_seconds", "robots_max_bytes",
                    "max_crawl_delay", "autothrottle", "autothrottle_start",
                    "autothrottle_target", "max_delay", "retries", "backoff_base",
                    "max_retry_after", "host_failures", "host_pause"]),
    ("Limits: time, size, traps, addresses, memory",
     ["timeout", "connect_timeout", "max_body_bytes", "max_redirects", "max_header_bytes",
      "max_headers", "max_url_length", "max_path_segments", "max_segment_repeats",
      "max_pages_per_host", "max_query_variants", "max_pattern_chain", "max_links_per_page",
      "allow_networks", "deny_networks", "frontier_memory"]),
    ("Outputs", ["outputs", "fields", "record_links", "record_headers", "csv_escape_formulas",
                 "warc_max_bytes",
                 "sink_batch_size", "sink_flush_seconds"]),
    ("Signed-in crawls: headers, cookies, sign-in, proxies",
     ["headers", "cookies", "keep_cookies", "netrc", "netrc_file", "login", "login_fields",
      "login_hook", "login_attempts", "proxies", "proxy_env", "proxy_rotation", "proxy_cooldown"]),
    ("Jobs: resume, recrawl, stop", ["job_dir", "recrawl", "recrawl_after", "shutdown_grace"]),
    ("Change notifications: webhooks", ["webhook", "webhook_secret", "webhook_batch"]),
    ("Parsing and extraction", ["extract", "content", "content_method", "structured_data",
                                "extractor", "parse_mode", "parse_inline_max_bytes",
                                "parse_workers", "parse_timeout", "parse_memory_mb"]),
    ("Rendering: JavaScript in headless Chromium",
     ["render", "render_tabs", "render_timeout", "render_settle_ms", "render_wait_selector",
      "render_scrolls", "render_load_media", "render_max_requests", "render_restart_pages",
      "render_memory_mb", "render_browser"]),
    ("Scale-out: Redis frontier, PostgreSQL output",
     ["frontier", "job_name", "lease_seconds", "outage_seconds", "seen_buckets",
      "pg_pool_size"]),
    ("Logging and monitoring", ["log_level", "progress_seconds", "quiet", "metrics_listen",
                                "status_file"]),
]
METAVARS = {"outputs": "PATH", "allow": "REGEX", "deny": "REGEX", "strip_params": "GLOB",
            "allow_networks": "CIDR", "deny_networks": "CIDR", "autothrottle_target": "N",
            "extract": "FILE", "metrics_listen": "HOST:PORT", "status_file": "FILE",
            "extractor": "MODULE:FUNCTION", "login_hook": "MODULE:FUNCTION", "job_dir": "DIR",
            "frontier": "URL", "job_name": "NAME", "user_agent": "TEXT",
            "headers": "'[HOST ]NAME: VALUE'", "cookies": "FILE", "login": "URL",
            "login_fields": "NAME=VALUE", "netrc_file": "FILE", "proxies": "URL"}
CHOICES = {"scope": SCOPES, "content": CONTENT_FORMS, "content_method": CONTENT_METHODS,
           "parse_mode": PARSE_MODES,
           "render": RENDER_MODES, "proxy_rotation": PROXY_ROTATIONS,
           "log_level": LOG_LEVELS}
TYPES: dict[str, Any] = get_type_hints(Settings)
ENV_PREFIX = "CRAWLER_"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


_SINGULAR_FLAGS = {"outputs": "--output", "headers": "--header", "proxies": "--proxy",
                   "login_fields": "--login-field",
                   "allow_networks": "--allow-network",
                   "deny_networks": "--deny-network"}


def flag_for(name: str) -> str:
    """The command-line flag of a setting: --max-pages; repeatable lists take a singular."""
    return _SINGULAR_FLAGS.get(name) or "--" + name.replace("_", "-")


def help_for(name: str) -> str:
    return FIELDS[name].metadata["help"]


SECRET_SETTINGS = frozenset({"headers", "login_fields", "proxies"})  # values no message shows


def _invalid(name: str, value: Any, source: str, problem: str) -> SettingsError:
    shown = "[redacted]" if name in SECRET_SETTINGS else repr(value)
    return SettingsError(f"invalid setting {name}={shown} (from {source}): {problem}")


def _coerce(name: str, value: Any, source: str, *, from_text: bool) -> Any:
    """Turn a value from TOML, the environment or a flag into the field's type, or say why not."""
    kind = TYPES[name]
    text_source = from_text and isinstance(value, str)
    try:
        if kind is bool:
            if text_source and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            if isinstance(value, bool):
                return value
            raise ValueError("must be true or false")
        if kind is int:
            if text_source:
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise ValueError("must be an integer")
        if kind is float:
            if text_source:
                return float(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            raise ValueError("must be a number")
        if kind is str:
            if isinstance(value, str):
                return value
            raise ValueError("must be a string")
        # tuple[str, ...]: a list, or one string (the environment may hold a JSON array; a
        # value that is not one, such as the regex '[0-9]+\.pdf$', is a single item)
        if text_source and value.lstrip().startswith("["):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ValueError("must be a list of strings")
    except (ValueError, json.JSONDecodeError) as exc:
        words = {int: "an integer", float: "a number"}.get(kind, kind.__name__)
        message = str(exc) if "must" in str(exc) else f"must be {words}"
        raise _invalid(name, value, source, message) from None


def _build(values: Mapping[str, Any], sources: Mapping[str, str]) -> Settings:
    for name, value in values.items():
        check = FIELDS[name].metadata["check"]
        problem = check(value) if check else None
        if problem:
            raise _invalid(name, value, sources.get(name, "defaults"), problem)
    return Settings(**values)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file; unknown keys are errors (they are usually typos)."""
    data = read_toml(path, "config file", SettingsError)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting {unknown[0]!r} (known: {', '.join(FIELDS)})"
        )
    return data


# CRAWLER_* names that are not settings: docker-compose's, the service's and the test suite's.
OTHER_ENVIRONMENT = frozenset({"CRAWLER_UID", "CRAWLER_GID", "CRAWLER_SCHEDULE",
                               "CRAWLER_SCHEDULE_WITH_SECONDS",
                               "CRAWLER_SERVICE_TOKEN", "CRAWLER_SCREENSHOT_DIR",
                               "CRAWLER_PG_PASSWORD", "CRAWLER_REQUIRE_SYSTEM_TESTS"})


def warn_unknown_environment(env: Mapping[str, str]) -> list[str]:
    """Warn about each CRAWLER_* variable that names no setting (a typo would otherwise be
    silently ignored), with the closest setting's name; returns the warnings."""
    known = {ENV_PREFIX + name.upper() for name in FIELDS}
    warnings = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name in OTHER_ENVIRONMENT:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"environment variable {name} names no setting and is ignored{hint}")
        log.warning("%s", warnings[-1])
    return warnings


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    source: str | None = None,
) -> Settings:
    """Layer the sources (later wins), coerce and validate them once. `source` names where
    `flags` came from, "{name}" standing for the setting (the Python API); else the flag."""
    values: dict[str, Any] = {f.name: f.default for f in FIELDS.values()}
    sources: dict[str, str] = {}
    layers: list[tuple[str, Any, str, bool]] = []  # (name, raw value, source, raw is text)
    if config_file is not None:
        origin = f"config file {config_file}"
        layers += [(n, v, origin, False) for n, v in read_config_file(config_file).items()]
    env = environ or {}
    warn_unknown_environment(env)
    layers += [(n, env[ENV_PREFIX + n.upper()], f"environment {ENV_PREFIX}{n.upper()}", True)
               for n in FIELDS if ENV_PREFIX + n.upper() in env]
    unknown = sorted(set(flags or {}) - set(FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r} (known: {', '.join(FIELDS)})")
    layers += [(n, v, source.format(name=n) if source else flag_for(n), True)
               for n, v in (flags or {}).items()]
    for name, raw, source, from_text in layers:
        values[name] = _coerce(name, raw, source, from_text=from_text)
        sources[name] = source
    return _build(values, sources)
