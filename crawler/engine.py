"""The crawl engine: robots -> fetch -> parse -> add links -> write record -> mark done.

One dispatcher takes ready requests from the frontier and runs each as a task, at most
`concurrency` at once (the fetch workers). Every request a task takes ends in exactly one record,
or goes back to the frontier to be retried later (a `Retry`); `frontier.done` runs in `finally`.
The crawl ends when nothing is pending.

Over 400 lines: this is the one place where a request's whole path is written out (robots,
fetch, retries, parse, sitemaps, links, record). Its policies are pure functions in the stages
(fetch.politeness, frontier.traps, jobs.changes); splitting the path itself would spread one
request's story over several files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from crawler.errors import Unavailable
from crawler.extract.documents import document_kind
from crawler.extract.setup import Extraction
from crawler.fetch.fetcher import Fetcher, FetchResult
from crawler.fetch.hosthealth import HostHealth, Verdict
from crawler.fetch.ipslots import IpSlots
from crawler.fetch.login import SignIn
from crawler.fetch.politeness import (
    autothrottle_delay,
    backoff_seconds,
    is_retryable,
    retry_after_seconds,
)
from crawler.fetch.robots import DEAD_HOST_RETRY_SECONDS, RobotsCache
from crawler.frontier.api import FrontierAPI
from crawler.frontier.request import Request
from crawler.frontier.scope import Scope
from crawler.frontier.traps import PatternChain, TrapLimits, record_form, url_trap
from crawler.jobs.changes import change_of, conditional_headers, content_hash
from crawler.parse.page import (
    PageMeta,
    ParseConfig,
    ParseResult,
    follow_urls,
    is_html,
    robots_directives,
)
from crawler.parse.pool import ParseFailed, ParsePool
from crawler.parse.simhash import NearDuplicates, as_hex
from crawler.parse.sitemaps import MAX_INDEX_DEPTH, read_sitemap
from crawler.records import Record, error_kind
from crawler.render.adaptive import PageView, RenderPolicy
from crawler.render.crawl import renderer_for
from crawler.render.tab import Answer
from crawler.settings import Settings
from crawler.sinks.writer import RecordWriter
from crawler.urls import BadURL, canonical, fingerprint, host_of, origin
from crawler.util.request_spec import RequestSpec

log = logging.getLogger(__name__)
NO_EXTRACTION = Extraction()
SITEMAP_LINKS_KEPT = 1000  # a sitemap's record keeps its first links, links_found counts all
SITEMAP_PRUNED_RECORDS = 10_000  # trap records all of a crawl's sitemaps may add


@dataclass
class CrawlStats:
    """Live counters; the progress line and the final summary read them."""

    started: float = field(default_factory=time.monotonic)
    pages: int = 0
    errors: int = 0
    retries: int = 0
    pruned: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    near_duplicates: int = 0  # pages whose links were not followed: near copies
    rendered: int = 0  # pages rendered in Chromium (--render)
    cancelled: int = 0

    def count(self, record: Record) -> None:
        self.pages += 1
        if record.error:
            self.errors += 1
            self.errors_by_kind[error_kind(record.error) or "other"] += 1
        if record.status is not None:
            self.statuses[record.status] += 1

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        elapsed = self.elapsed()
        return self.pages / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Retry:
    """The request goes back to the frontier; its host waits `delay` seconds."""

    delay: float


class Crawler:
    """Wires the frontier, robots, the fetcher, the parse pool and the record writer together."""

    def __init__(self, settings: Settings, scope: Scope, frontier: FrontierAPI, fetcher: Fetcher,
                 parser: ParsePool, writer: RecordWriter, run_id: str,
                 robots: RobotsCache | None = None,
                 extraction: Extraction = NO_EXTRACTION) -> None:
        self.settings = settings
        self.extraction = extraction
        self.frontier = frontier
        self.fetcher = fetcher
        self.parser = parser
        self.writer = writer
        self.robots = robots
        self.run_id = run_id
        self.stats = CrawlStats()
        self.token = settings.robots_token
        self.scope = scope
        self.parse_config = self._parse_config(scope)
        self._given_up: dict[str, str] = {}  # host -> why every URL on it is skipped
        self.health = HostHealth(settings.host_failures)
        self.ip_slots = IpSlots(settings.per_ip)
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: BaseException | None = None
        self.stopping = False
        self.sitemap_pruned = 0  # trap records the crawl's sitemaps added (SITEMAP_PRUNED_...)
        self.renderer = renderer_for(settings, fetcher, scope, robots)
        self.signer: SignIn | None = None  # --login: set once signed in (crawler.fetch.login)
        self.render_policy = RenderPolicy() if settings.render == "auto" else None
        self.near_duplicates = NearDuplicates(settings.skip_near_duplicates) if (
            settings.skip_near_duplicates) else None

    def __repr__(self) -> str:
        return f"<Crawler pages={self.stats.pages} tasks={len(self._tasks)} {self.frontier!r}>"

    def _parse_config(self, scope: Scope) -> ParseConfig:
        s = self.settings
        traps = TrapLimits(s.max_url_length, s.max_path_segments, s.max_segment_repeats)
        e = self.extraction
        return ParseConfig(scope, s.url_rules, s.record_links, s.obey_rel_nofollow, s.robots,
                           self.token, traps, s.max_links_per_page, e.rules, e.content,
                           e.function, s.simhash or s.skip_near_duplicates > 0,
                           render_hints=s.render == "auto", structured=e.structured,
                           content_method=e.content_method)

    async def add_seeds(self, seeds: list[str]) -> None:
        """Queue the seeds (canonical URLs) at depth 0."""
        await self.frontier.add_links([(url, fingerprint(url)) for url in seeds], 0, None)

    async def add_sitemaps(self, seeds: list[str]) -> None:
        """--sitemaps: queue the sitemaps of each seed's origin, those its robots.txt names
        (within the crawl's scope), else /sitemap.xml."""
        for key in dict.fromkeys(origin(url) for url in seeds):
            named: list[str] = []
            if self.robots is not None:
                rules = await self.robots.rules_for(key + "/")
                if rules.parser is not None:
                    named = list(rules.parser.sitemaps)
            links = []
            for raw in named or [key + "/sitemap.xml"]:
                try:
                    url = canonical(raw, rules=self.settings.url_rules)
                except BadURL as exc:
                    log.warning("%s/robots.txt: sitemap %r: %s", key, raw, exc)
                    continue
                if not self.scope.allows(url):  # a robots.txt does not widen the crawl
                    log.warning("%s/robots.txt: sitemap %s is outside the crawl's scope: "
                                "not fetched", key, url)
                elif url != origin(url) + "/robots.txt":  # a robots.txt that names itself
                    links.append((url, fingerprint(url)))
            await self.frontier.add_links(links, 0, key + "/robots.txt")

    def _near_duplicate(self, record: Record, value: int | None) -> bool:
        """--skip-near-duplicates: whether the page nearly repeats one seen before (its record
        says which); else it is remembered."""
        if self.near_duplicates is None or value is None:
            return False
        record.near_duplicate_of = self.near_duplicates.match(value)
        if record.near_duplicate_of is None:
            self.near_duplicates.add(value, record.url)
            return False
        self.stats.near_duplicates += 1
        return True

    async def _follow_sitemap(self, record: Record, request: Request,
                              result: FetchResult) -> None:
        """A fetched body that is a sitemap: queue the URLs it lists as links are queued
        (scope, traps, dedup; robots.txt and politeness when they are fetched)."""
        sitemap = await asyncio.to_thread(read_sitemap, result.body, result.content_type)
        if sitemap is None:
            return
        if sitemap.problem or sitemap.dropped:
            log.warning("sitemap %s: %s", request.url, sitemap.problem or (
                f"{sitemap.dropped} URLs past the protocol's 50,000 ignored"))
        if sitemap.problem:
            record.error = f"sitemap: {sitemap.problem}"
        if sitemap.kind == "index" and request.depth >= MAX_INDEX_DEPTH:
            log.warning("sitemap index %s is nested %d deep: not following it", request.url,
                        request.depth)
            return
        if self.frontier.full and sitemap.kind == "index":
            # --max-pages is reached: what its sitemaps list could only be held, not crawled
            record.error = record.error or ("sitemap: --max-pages reached, its sitemaps "
                                            "were not fetched")
            return
        urls = []
        for raw in sitemap.urls:
            try:
                urls.append(canonical(raw, rules=self.settings.url_rules))
            except BadURL:
                continue
        record.links_found = len(urls) + sitemap.dropped
        record.links = urls[:SITEMAP_LINKS_KEPT] if self.settings.record_links else []
        found = ParseResult()
        follow_urls(urls, self.parse_config, found)
        depth = request.depth + 1
        pruned = await self.frontier.add_links(found.follow, depth, request.url,
                                               pruned=found.pruned)
        kept = max(0, min(len(pruned), SITEMAP_PRUNED_RECORDS - self.sitemap_pruned))
        self.sitemap_pruned += kept
        if kept < len(pruned):  # a sitemap tree of traps: counted, not a record each
            record.error = record.error or (f"sitemap: {len(pruned) - kept} URLs a trap limit "
                                            "pruned were not recorded (the crawl's sitemaps "
                                            f"record {SITEMAP_PRUNED_RECORDS} at most)")
        for url, fp, reason in pruned[:kept]:
            await self._write_pruned(url, fp, depth, request.url, reason)

    def stop(self) -> None:
        """Take no new URLs; in-flight fetches get `shutdown_grace` seconds to finish."""
        self.stopping = True
        self.frontier.close()

    async def run(self) -> CrawlStats:
        """Crawl until nothing is pending (or stop()); re-raise a fatal sink failure."""
        slots = asyncio.Semaphore(self.settings.concurrency)
        if self.renderer is not None and self.render_policy is None:
            self.renderer.warm()  # --render always: every page will want a tab
        try:
            while True:
                await slots.acquire()
                request = await self.frontier.get()
                if request is None:
                    slots.release()
                    break
                task = asyncio.create_task(self._process(request))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
                task.add_done_callback(lambda _: slots.release())
            await self._drain()
        finally:
            if self.renderer is not None:
                await self.renderer.close()
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    async def _drain(self) -> None:
        """Let in-flight tasks finish; after stop(), cancel what outlives the grace period."""
        if not self._tasks:
            return
        if not self.stopping:
            await asyncio.wait(set(self._tasks))
            return
        log.info("stopping: waiting up to %gs for %d in-flight fetches",
                 self.settings.shutdown_grace, len(self._tasks))
        _, late = await asyncio.wait(set(self._tasks), timeout=self.settings.shutdown_grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        self.stats.cancelled = len(late)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        if self._fatal is None:
            self._fatal = task.exception()
            log.error("stopping the crawl: %s", self._fatal)
            self.stop()

    async def _fetch_signed_in(self, request: Request) -> tuple[FetchResult, bool]:
        """Fetch the page; with --login, a page that redirects to the login page signs the
        crawl in again and is fetched once more. (result, still signed out)."""
        generation = self.signer.generation if self.signer is not None else 0
        url = request.target
        for _ in range(2):
            async with self.ip_slots.taken(url):
                if request.spec is None:
                    result = await self.fetcher.fetch(
                        url, headers=conditional_headers(request.history))
                else:
                    result = await self._fetch_spec(url, request)
            if self.signer is None or not self.signer.is_login_redirect(result, url):
                return result, False
            if not await self.signer.again(generation):
                break
            generation = self.signer.generation
        return result, True

    async def _fetch_spec(self, url: str, request: Request) -> FetchResult:
        """A Follow's POST or request with headers of its own (crawler.util.request_spec)."""
        assert request.spec is not None
        spec = RequestSpec.decode(request.spec)
        headers = spec.body_headers()
        if spec.method == "GET":  # a POST is never answered from a cache's validators
            headers.update(conditional_headers(request.history) or {})
        return await self.fetcher.fetch(url, headers=headers, method=spec.method,
                                        data=spec.body or None, private=dict(spec.headers))

    async def _process(self, request: Request) -> None:
        outcome: Record | Retry | None = None
        self.writer.leased(request.fp)
        try:
            outcome = await self._visit(request)
            if isinstance(outcome, Retry):
                self.stats.retries += 1
                self.frontier.requeue(request, time.monotonic() + outcome.delay)
                return
            await self.writer.put(outcome, request.fp)
            self.stats.count(outcome)
        finally:
            if not isinstance(outcome, Retry):
                self.frontier.done(request)

    async def _visit(self, request: Request) -> Record | Retry:
        """Robots, fetch, parse and follow one URL; every outcome is a record or a Retry."""
        record = Record(url=request.url, depth=request.depth, run_id=self.run_id,
                        referrer=request.referrer, final_url=request.url,
                        redirects=request.redirects, attempts=request.attempts)
        if request.history is not None:  # kept unless this run gets a verdict
            history = request.history
            record.etag, record.last_modified = history.etag, history.last_modified
            record.content_hash = history.content_hash
        try:
            return await self._visit_steps(request, record)
        except (asyncio.CancelledError, Unavailable):
            raise  # the crawl stops; the request is not this page's fault
        except Exception as exc:  # a bug must cost one record, never the crawl
            log.exception("internal error on %s", request.url)
            record.error = f"internal error: {type(exc).__name__}: {exc}"
            return record

    async def _visit_steps(self, request: Request, record: Record) -> Record | Retry:
        if self._given_up:  # the address guard is the fetcher's, applied on every fetch
            refused = self._given_up.get(host_of(request.url))
            if refused is not None:
                record.error = refused
                return record
        if self.robots is not None:
            verdict = await self._robots_verdict(request)
            if isinstance(verdict, Retry):
                return verdict
            if verdict is not None:
                record.error = verdict
                return record
        request.attempts += 1
        result, signed_out = await self._fetch_signed_in(request)
        self._fill_from_fetch(record, request, result)
        if signed_out:
            record.error = ("signed out: the page redirects to --login, and signing in again "
                            "did not help (or --login-attempts were used up)")
        log.debug("fetched %s: %s, %d ms, %d bytes, attempt %d", request.url,
                  result.status or result.error, record.elapsed_ms, len(result.body),
                  request.attempts)
        if self._host_stopped_answering(request.url, result.error):
            return record
        retry = self._retry_or_give_up(request, result, record)
        if retry is not None:
            return retry
        if result.error is not None:
            return record
        status = result.status or 0
        parse_it = is_html(result.content_type) and 200 <= status < 300
        document = not parse_it and self.parse_config.content != "none" and \
            200 <= status < 300 and document_kind(result.content_type, result.body) is not None
        if not (parse_it or document):  # a parsed page is hashed by the parse worker
            self._label_change(record, request, result)
        self._throttle(request.url, result)
        header_nofollow = False
        if self.settings.robots and result.robots_tag:
            directives = robots_directives(result.robots_tag, self.token)
            record.noindex = "noindex" in directives
            header_nofollow = "nofollow" in directives
            record.nofollow = header_nofollow
        if parse_it:
            digest = await self._parse_and_follow(record, request, result, header_nofollow)
            self._label_change(record, request, result, digest)
        elif document:
            self._label_change(record, request, result,
                               await self._read_document(record, request, result))
        elif self.settings.sitemaps and 200 <= status < 300 and result.body:
            await self._follow_sitemap(record, request, result)
        elif result.location is not None and 300 <= status < 400 and status != 304:
            await self._follow_redirect(record, request, result.location, status)
            record.links = [record.final_url] if self.settings.record_links and \
                record.final_url else []
            record.links_found = 1
        return record

    async def _robots_verdict(self, request: Request) -> str | Retry | None:
        """None when robots.txt lets us fetch; else why not (a record error) or a Retry."""
        assert self.robots is not None
        rules = await self.robots.rules_for(request.target)
        if rules.unreachable is not None:
            if rules.permanent:
                return rules.unreachable
            dead = rules.unreachable.startswith("connection failed")
            if request.robots_waits < self.settings.retries:
                request.robots_waits += 1
                return Retry(min(self.settings.robots_retry_seconds, DEAD_HOST_RETRY_SECONDS)
                             if dead else self.settings.robots_retry_seconds)
            if dead:  # say what it is: the host is not there
                return rules.unreachable
            return f"robots.txt unreachable ({rules.unreachable}): not fetched"
        crawl_delay = rules.crawl_delay(self.token)
        if crawl_delay is not None and crawl_delay > self.settings.max_crawl_delay:
            return self._give_up_host(
                request.url, f"host asked for Crawl-delay {crawl_delay:g}s, more than "
                f"--max-crawl-delay {self.settings.max_crawl_delay:g}s: host given up")
        self.frontier.set_host_rules(request.url, crawl_delay)
        if not rules.allows(request.target, self.token):
            return "disallowed by robots.txt"
        return None

    def _fill_from_fetch(self, record: Record, request: Request, result: FetchResult) -> None:
        record.status = result.status
        record.attempts = request.attempts
        record.elapsed_ms = round(result.elapsed * 1000)
        record.error = result.error
        record.ip = result.ip
        if result.error is None:
            record.headers = result.headers if self.settings.record_headers else None
            record.content_type = result.content_type
            record.content_length = len(result.body)
            record.truncated = result.truncated
            record.exchange = result.exchange

    def _host_stopped_answering(self, url: str, error: str | None) -> bool:
        """Count the fetch in the host's health: pause the host after a run of transport
        failures, give it up after as many again. True when the host is now given up."""
        verdict = self.health.record(host_of(url), error)
        if verdict is Verdict.PAUSE:
            log.warning("%s: %d timeouts or connection failures in a row: leaving it alone "
                        "for %gs", host_of(url), self.health.threshold, self.settings.host_pause)
            self.frontier.pause_host(url, time.monotonic() + self.settings.host_pause)
        elif verdict is Verdict.GIVE_UP:
            self._give_up_host(url, f"host unreachable: {2 * self.health.threshold} timeouts "
                               "or connection failures in a row: host given up")
            return True
        return False

    def _give_up_host(self, url: str, reason: str) -> str:
        """Skip every URL of the host from now on, each with a record saying `reason`."""
        self._given_up[host_of(url)] = reason
        log.warning("%s: %s", host_of(url), reason)
        return reason

    def _retry_or_give_up(self, request: Request, result: FetchResult,
                          record: Record) -> Retry | None:
        """A Retry when the answer is worth another attempt and attempts are left. A Retry-After
        is honoured for the whole host, whether or not this URL is retried."""
        settings = self.settings
        if not is_retryable(result.status, result.error):
            return None
        wait = retry_after_seconds(result.retry_after) if result.status in (429, 503) else None
        if wait is not None:
            if wait > settings.max_retry_after:
                record.error = self._give_up_host(
                    request.url, f"host asked to wait {wait:.0f}s (Retry-After), more than "
                    f"--max-retry-after {settings.max_retry_after:g}s: host given up")
                return None
            self.frontier.pause_host(request.url, time.monotonic() + wait)
        what = result.error or f"HTTP {result.status}"
        if request.attempts > settings.retries:
            log.info("%s: %s; giving up after %d attempts", request.url, what, request.attempts)
            return None
        delay = wait if wait is not None else backoff_seconds(
            request.attempts, settings.backoff_base, settings.max_delay)
        log.info("%s: %s; attempt %d of %d in %.1fs", request.url, what, request.attempts + 1,
                 settings.retries + 1, delay)
        return Retry(delay)

    @staticmethod
    def _label_change(record: Record, request: Request, result: FetchResult,
                      body_hash: str | None = None) -> None:
        """Hash what the URL answered (a parsed page's `body_hash` comes from the parse
        worker) and label it against the job's last run."""
        status = result.status or 0
        digest = None
        if status == 304:
            digest = record.content_hash
        elif 200 <= status < 300:
            digest = body_hash or content_hash(result.body)
        elif 300 <= status < 400:
            digest = content_hash((result.location or "").encode())
        record.change = change_of(request.history, result.status, digest)
        if status == 304 or (status >= 400 and record.change is None):
            return  # no new content: keep the validators and hash we had
        record.content_hash = digest
        record.etag, record.last_modified = result.etag, result.last_modified

    def _throttle(self, url: str, result: FetchResult) -> None:
        if not self.settings.autothrottle:
            return
        settings = self.settings
        delay = autothrottle_delay(self.frontier.host_delay(url), result.elapsed,
                                   settings.autothrottle_target, 0.0, settings.max_delay,
                                   ok=(result.status or 0) < 400)
        self.frontier.set_host_delay(url, delay)

    async def _write_pruned(self, url: str, fp: int, depth: int, referrer: str,
                            reason: str) -> None:
        record = Record(url=url, depth=depth, run_id=self.run_id, referrer=referrer,
                        final_url=url, error=reason)
        await self.writer.put(record, fp, pruned=True)
        self.stats.count(record)
        self.stats.pruned += 1

    async def _follow_redirect(self, record: Record, request: Request, location: str,
                               status: int = 302) -> None:
        """Queue the redirect target as a new request: it is scoped, deduped and paced anew. A
        Follow's request goes on as the redirect says (RequestSpec.redirected)."""
        try:
            target = canonical(location, request.target, self.settings.url_rules)
        except BadURL as exc:
            record.error = f"bad redirect: {exc}"
            return
        name, spec = target, None
        if request.spec is not None:
            follow = RequestSpec.decode(request.spec).redirected(
                status, origin(target) == origin(request.target))
            name, spec = follow.named(target), None if follow.plain else follow.encode()
        record.final_url = record_form(name, fingerprint(name), self.parse_config.traps)
        if request.redirects >= self.settings.max_redirects:
            record.error = f"too many redirects (more than {self.settings.max_redirects})"
            return
        if request.depth == 0 and not self.scope.allows(target):
            self.widen_scope([target])  # a seed that moved takes its scope along
            await self.frontier.share_scope(target)  # before any of its pages can be leased
            log.info("seed %s redirects to %s; that host is now in scope", request.url, target)
        if self.scope.allows(target):
            fp = fingerprint(name)
            traps = self.parse_config.traps
            trap = url_trap(target, traps)  # as a link's shape is checked
            pruned = await self.frontier.add_links(
                [] if trap else [(name, fp)], request.depth, request.url,
                request.redirects + 1,
                pruned=[(record_form(name, fp, traps), fp, trap)] if trap else [],
                specs={fp: spec} if spec else None)
            for url, fp, reason in pruned:
                await self._write_pruned(url, fp, request.depth, request.url, reason)

    def widen_scope(self, urls: list[str]) -> None:
        """Take the origins of `urls` into scope (seeds' redirect targets)."""
        urls = [url for url in urls if not self.scope.allows(url)]
        if urls:
            self.scope = self.scope.widened(urls)
            self.parse_config = self._parse_config(self.scope)

    async def _parse_and_follow(self, record: Record, request: Request, result: FetchResult,
                                header_nofollow: bool) -> str | None:
        """Parse the page (rendered first, with --render), fill its record, queue its links;
        returns the body's content hash when the parse computed it."""
        if self.renderer is not None and self.render_policy is None:  # --render always
            rendered = await self._render(record, request, result)
            parsed = await self._parse(record, request, result, rendered or result.body)
            if parsed is None:
                return None
            parsed.body_hash = content_hash(result.body)  # changes are the server's answer's
            return await self._fill_and_follow(record, request, parsed, header_nofollow)
        parsed = await self._parse(record, request, result, result.body)
        if parsed is None:
            return None
        if self.render_policy is not None and self.render_policy.wants(
                request.target, parsed.render_hint or self._rules_found_nothing(parsed)):
            static_hash = parsed.body_hash
            rendered = await self._render(record, request, result)
            again = await self._parse(record, request, result, rendered) if rendered else None
            if again is not None:
                self.render_policy.learn(request.target, _view(parsed), _view(again))
                again.body_hash = static_hash
                parsed = again
        return await self._fill_and_follow(record, request, parsed, header_nofollow)

    async def _read_document(self, record: Record, request: Request, result: FetchResult
                             ) -> str | None:
        """A PDF's or DOCX's title and text (--content), read in the parse pool; returns the
        body's content hash."""
        parsed = await self._parse(record, request, result, result.body)
        if parsed is None:
            return None
        record.title, record.content = parsed.title, parsed.content
        if parsed.extract_error is not None:
            cut = " (the body was cut at --max-body-bytes)" if result.truncated else ""
            record.error = record.error or parsed.extract_error + cut
        return parsed.body_hash

    def _rules_found_nothing(self, parsed: ParseResult) -> str | None:
        if self.extraction.rules is not None and parsed.data is not None and \
                not any(parsed.data.values()):
            return "no rules field found anything"
        return None

    async def _render(self, record: Record, request: Request, result: FetchResult
                      ) -> bytes | None:
        """The page as Chromium built it (UTF-8 HTML), or None when rendering gave nothing;
        the record says what happened."""
        assert self.renderer is not None
        answer = Answer(result.status or 200, list((result.headers or {}).items()) or [
            ("Content-Type", result.content_type or "text/html")], result.body)
        rendered = await self.renderer.render(request.target, answer)
        record.render_ms = round(rendered.elapsed * 1000)
        record.render_error = rendered.error
        self.stats.rendered += 1
        if rendered.html is None:
            return None
        record.rendered = True
        dom = rendered.html.encode("utf-8", "replace")
        if result.exchange is not None:  # a WARC output keeps it beside the response
            result.exchange.rendered = dom
        return dom

    async def _parse(self, record: Record, request: Request, result: FetchResult,
                     body: bytes) -> ParseResult | None:
        config = self.parse_config
        meta = PageMeta(status=result.status or 200, headers=result.headers or {}) \
            if config.extractor is not None else None
        content_type = "text/html; charset=utf-8" if record.rendered else result.content_type
        try:
            return await self.parser.parse(request.target, body, content_type, config, meta)
        except ParseFailed as exc:
            record.error = str(exc)
            return None

    async def _fill_and_follow(self, record: Record, request: Request, parsed: ParseResult,
                               header_nofollow: bool) -> str | None:
        record.title = parsed.title
        record.data, record.content = parsed.data, parsed.content
        record.structured = parsed.structured
        record.item_data, record.items = parsed.items, len(parsed.items)
        record.error = record.error or parsed.extract_error
        record.truncated = record.truncated or parsed.cut_at_nesting
        record.links = parsed.links
        record.links_found = parsed.links_found
        record.canonical_url = parsed.canonical_url
        record.simhash = as_hex(parsed.simhash)
        if self.settings.robots:
            record.noindex = record.noindex or parsed.noindex
            record.nofollow = record.nofollow or parsed.nofollow
        if parsed.refresh_url is not None and parsed.refresh_url != request.target:
            await self._follow_redirect(record, request, parsed.refresh_url)
        if header_nofollow or self._near_duplicate(record, parsed.simhash):
            return parsed.body_hash
        depth = request.depth + 1
        if parsed.pruned_unrecorded:
            log.warning("%s: %d more links not followed by trap limits, not recorded one by "
                        "one", request.url, parsed.pruned_unrecorded)
        pruned = await self.frontier.add_links(
            parsed.follow, depth, request.url, pruned=parsed.pruned,
            chain_from=PatternChain.of(request.target, request.chain), specs=parsed.specs)
        for url, fp, reason in pruned:
            await self._write_pruned(url, fp, depth, request.url, reason)
        return parsed.body_hash


def _view(parsed: ParseResult) -> PageView:
    """What --render auto compares between a page's static and rendered parses."""
    data = parsed.data or {}
    return PageView(parsed.links_found, parsed.text_chars,
                    sum(1 for value in data.values() if value))
