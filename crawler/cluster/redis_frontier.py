"""A frontier in Redis that many workers share: the interface of crawler.frontier.local.Frontier.

Every decision that must hold across workers runs in one Lua script on the Redis server
(`crawler.cluster.scripts`): the seen-set, the page budgets, each host's slots and delay, and
leases. A worker leases URLs; the fetch's end releases the host slot; the lease itself ends
only when the record is stored (`ack`, called by the record writer after the sinks wrote it).
A lease not renewed in time, because its worker died, puts the URL back at the head of its
host's queue. Releases, requeues and host rules are sent with the next lease call, so a page
costs about one round trip for its links and a share of a batched lease and ack.

Redis being unreachable (restarting, a network blip) is retried with backoff for up to
`outage_seconds`; the crawl waits meanwhile, and nothing is lost.

Over 400 lines: the whole frontier interface (crawler.frontier.api) over Redis, one method
per call the engine makes, each a round trip to the Lua scripts in crawler.cluster.scripts;
leases, renewals and outage waits are part of every one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from crawler.cluster import scripts
from crawler.cluster.batcher import CallBatcher
from crawler.cluster.job import ClusterJob, job_prefix
from crawler.errors import CrawlerError, Unavailable
from crawler.frontier.request import Request
from crawler.frontier.seen import SeenSet
from crawler.frontier.traps import TRAP, PatternChain, chain_trap
from crawler.urls import fingerprint, fp_from_sql, fp_to_sql, host_of, origin
from crawler.util.outage import Outage

log = logging.getLogger(__name__)
RETRYABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError,
             redis_errors.ClusterDownError, redis_errors.TryAgainError)
IDLE_POLL_SECONDS = 0.25  # how often an idle worker asks whether another worker queued URLs
MAX_LEASE_BATCH = 64
COALESCE_SECONDS = 0.002  # calls of pages that finish this close together share a round trip
_TRAP_REASONS = {
    "h": "host already has --max-pages-per-host {max_pages_per_host} URLs",
    "q": "path already has --max-query-variants {max_query_variants} queries",
}
# Fingerprints this worker already sent to Redis, whose seen-set only grows, so they need not be
# sent again (most links of a page are links every page has). Bounded: cleared when full.
SENT_CACHE_LIMIT = 4_000_000  # about 32 MiB of sorted fingerprints
RENEW_FAILURES_TO_STOP = 3  # lease renewals failing in a row before the worker stops


class FrontierUnavailable(Unavailable):
    """Redis stayed unreachable longer than --outage-seconds; the worker stops (its leases
    expire and other workers take its URLs)."""


def encode_entry(request: Request) -> str:
    """`FP|JSON`: the Lua scripts read the fingerprint; the rest is the worker's."""
    body = orjson.dumps([request.url, request.depth, request.referrer, request.redirects,
                         request.attempts, request.robots_waits, request.chain,
                         request.spec]).decode()
    return f"{fp_to_sql(request.fp)}|{body}"


def decode_entry(entry: str | bytes) -> Request:
    text = entry.decode() if isinstance(entry, bytes) else entry
    fp, _, body = text.partition("|")
    url, depth, referrer, redirects, attempts, robots_waits, *rest = orjson.loads(body)
    return Request(url, depth, referrer, redirects, fp_from_sql(int(fp)), attempts=attempts,
                   robots_waits=robots_waits, chain=rest[0] if rest else 0,
                   spec=rest[1] if len(rest) > 1 else None)


class RedisLink:
    """Calls to one Redis: retried through an outage (backoff, for up to `outage_seconds`),
    then FrontierUnavailable, and every later call fails at once; a refusal (no such job, a
    Cluster node that does not own the job, bad credentials) is a one-line CrawlerError."""

    def __init__(self, outage_seconds: float, job_name: str) -> None:
        self.outage = Outage(outage_seconds, first_pause=0.05, longest_pause=2.0)
        self.job_name = job_name
        self._gave_up: FrontierUnavailable | None = None

    async def call(self, call: Callable[[], Awaitable[Any]]) -> Any:
        if self._gave_up is not None:
            raise self._gave_up
        outage, attempt = self.outage, 0
        while True:
            try:
                result = await call()
            except (redis_errors.AuthenticationError, redis_errors.AuthorizationError) as exc:
                raise CrawlerError(f"Redis refused the connection: {exc}") from None
            except RETRYABLE as exc:
                if outage.began():
                    log.warning("Redis unreachable (%s): the crawl waits and retries for up "
                                "to %gs", exc, outage.limit)
                if outage.over_limit():
                    self._gave_up = FrontierUnavailable(
                        f"Redis unreachable for more than {outage.limit:g}s "
                        f"(--outage-seconds): {exc}")
                    raise self._gave_up from None
                await outage.pause(attempt)
                attempt += 1
                continue
            except redis_errors.ResponseError as exc:
                raise _refusal(exc, self.job_name) from None
            lasted = outage.ended()
            if lasted is not None:
                log.warning("Redis is back after %.1fs", lasted)
            return result


class RedisFrontier:
    """Leases URLs from the job's frontier in Redis for one worker's dispatcher."""

    def __init__(self, client: aioredis.Redis, job: ClusterJob, *, concurrency: int,
                 lease_seconds: float, outage_seconds: float, max_pattern_chain: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.job = job
        self.meta_key = job_prefix(job.name) + ":meta"
        self.concurrency = concurrency
        self.max_pattern_chain = max_pattern_chain  # a worker's own trap limit (traps.py)
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.link = RedisLink(outage_seconds, job.name)
        self._clock = clock
        self._add = client.register_script(scripts.ADD)
        self._sync_script = client.register_script(scripts.SYNC)
        self._ack = client.register_script(scripts.ACK)
        self._renew = client.register_script(scripts.RENEW)
        self._script_names = {self._add.sha: "add", self._sync_script.sha: "sync",
                              self._ack.sha: "ack", self._renew.sha: "renew"}
        self._ready: deque[Request] = deque()  # leased, not yet handed to the dispatcher
        self._leases: dict[int, tuple[str, Request]] = {}  # fp -> (lease id, request): not acked
        self._ops: list[str] = []  # release/requeue/host ops for the next sync, 5 values each
        self._floors: dict[str, float] = {}  # host -> floor delay sent (robots.txt read)
        self._delays: dict[str, float] = {}  # host -> adaptive delay sent (autothrottle)
        self._wake = asyncio.Event()
        self._closed = False
        self.in_flight = 0  # handed to the dispatcher and not yet done
        self.queued = 0  # cluster-wide, as of the last sync
        self.remote_pending = -1  # queued + leased cluster-wide, as of the last sync
        self.scope_size = 0
        self.added = 0  # URLs this frontier queued (new to the job)
        self._sent = SeenSet(hot_limit=1 << 16)  # fingerprints Redis has seen (SENT_CACHE_LIMIT)
        self._adds: CallBatcher[tuple[str | int, ...], str] = CallBatcher(self._send_adds,
                                                                          COALESCE_SECONDS)
        self.on_scope: Callable[[list[str]], None] | None = None  # told of new scope origins
        self._renewer: asyncio.Task[None] | None = None
        self.renew_error: CrawlerError | None = None  # why the lease renewer stopped
        self.calls: Counter[str] = Counter()  # round trips by kind: add, sync, ack, renew

    def __repr__(self) -> str:
        return f"<RedisFrontier {self.stats()}>"

    def stats(self) -> dict[str, Any]:
        return {"job": self.job.name, "queued": self.queued, "in_flight": self.in_flight,
                "leases": len(self._leases), "pending": self.remote_pending,
                "closed": self._closed, "calls": dict(self.calls),
                "add_submits": self._adds.submits}

    @property
    def pending(self) -> int:
        """URLs queued or leased cluster-wide, this worker's included, as of the last sync."""
        return max(self.remote_pending, 0)

    @property
    def full(self) -> bool:
        """The shared budget is kept by Redis's admit script; a worker does not know it."""
        return False

    def start(self) -> None:
        """Renew this worker's leases every third of their lifetime, until `shutdown`."""
        self._renewer = asyncio.create_task(self._renew_forever(), name="lease-renewer")

    # --- queueing -------------------------------------------------------------------------

    async def add_links(self, links: Iterable[tuple[str, int]], depth: int,
                        referrer: str | None, redirects: int = 0,
                        pruned: Iterable[tuple[str, int, str]] = (),
                        chain_from: PatternChain | None = None,
                        specs: Mapping[int, str] | None = None
                        ) -> list[tuple[str, int, str]]:
        """Queue `links` cluster-wide and mark `pruned` seen, in one round trip; returns the
        URLs to record as pruned (url, fingerprint, reason), each once in the whole job."""
        calls: list[tuple[str | int, ...]] = []  # the ADD script's values, per URL
        items: list[tuple[str, int, str | None]] = []  # (url, fp, reason a 'p' item carries)
        too_deep = self.job.max_depth and depth > self.job.max_depth
        sent = self._sent
        links = [link for link in links if link[1] not in sent]
        if chain_from is not None and links:
            chain_from = chain_from.weighed(url for url, _ in links)
        for url, fp in links:
            chain = chain_from.chain_of(url) if chain_from is not None else 0
            reason = (f"{TRAP}deeper than --max-depth {self.job.max_depth}" if too_deep
                      else chain_trap(chain, self.max_pattern_chain))
            if reason is not None:
                calls.append(self._item("p", url, fp, "", ""))
                items.append((url, fp, reason))
                continue
            request = Request(url, depth, referrer, redirects, fp, chain=chain,
                              spec=specs.get(fp) if specs else None)
            calls.append(self._item("a", url, fp, encode_entry(request),
                                    self._query_counter(url)))
            items.append((url, fp, None))
        for url, fp, reason in pruned:
            if fp not in sent:
                calls.append(self._item("p", url, fp, "", ""))
                items.append((url, fp, reason))
        if not items:
            return []
        results = await self._adds.submit(calls)
        if len(sent) + len(items) > SENT_CACHE_LIMIT:
            self._sent = sent = SeenSet(hot_limit=1 << 16)
        out = []
        for (url, fp, reason), result in zip(items, results, strict=True):
            sent.add(fp)
            if result in _TRAP_REASONS:
                template = _TRAP_REASONS[result]
                out.append((url, fp, TRAP + template.format(**vars(self.job))))
            elif result == "1":
                if reason is not None:
                    out.append((url, fp, reason))
                else:
                    self.added += 1
        return out

    def _query_counter(self, url: str) -> str:
        """'BUCKET:FINGERPRINT' of the URL's path when it has a query (the query-variant trap
        counts queries per path), else ''."""
        if "?" not in url or not self.job.max_query_variants:
            return ""
        path_fp = fingerprint(url.split("?", 1)[0])
        return f"{path_fp % self.job.seen_buckets}:{fp_to_sql(path_fp)}"

    def _item(self, kind: str, url: str, fp: int, entry: str, query: str
              ) -> tuple[str | int, ...]:
        return (kind, fp_to_sql(fp), fp % self.job.seen_buckets, host_of(url), entry, query)

    async def _send_adds(self, calls: list[tuple[str | int, ...]]) -> str:
        """One ADD script call for the URLs of every page that finished in the same window."""
        args: list[str | int] = [len(calls)]
        for call in calls:
            args.extend(call)
        return (await self._call(self._add, args)).decode()

    async def share_scope(self, url: str) -> None:
        """A seed redirected to `url`'s origin: every worker takes it into scope."""
        key = job_prefix(self.job.name) + ":scope"
        await self.link.call(lambda: self.client.sadd(key, origin(url)))

    # --- the dispatcher's side -------------------------------------------------------------

    async def get(self) -> Request | None:
        """The next leased request; None once the job has nothing queued or leased anywhere,
        or after close()."""
        while not self._closed:
            if self.renew_error is not None:
                raise self.renew_error
            if self._ready:
                self.in_flight += 1
                return self._ready.popleft()
            if self.in_flight:  # more slots are about to free: take them in one call
                await asyncio.sleep(COALESCE_SECONDS)
                if self._closed:
                    break
            wait = await self._sync(max(1, min(MAX_LEASE_BATCH, self.concurrency - self.in_flight)))
            if self._ready:
                continue
            if self.remote_pending == 0 and not self._leases:
                return None
            self._wake.clear()
            timeout = IDLE_POLL_SECONDS if wait < 0 else min(wait, IDLE_POLL_SECONDS)
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass
        return None

    async def _sync(self, want: int) -> float:
        """Send the queued ops, lease up to `want` URLs; returns seconds until a host may start
        (-1 when none waits on time)."""
        ops, self._ops = self._ops, []
        reply = await self._call(self._sync_script,
                                 [want, self.lease_ms, len(ops) // 5, *ops])
        self.remote_pending, self.queued, wait_ms, scope_size = (int(x) for x in reply[:4])
        for i in range(4, len(reply), 3):
            request = decode_entry(reply[i + 2])
            self._leases[request.fp] = (reply[i + 1].decode() if isinstance(reply[i + 1], bytes)
                                        else str(reply[i + 1]), request)
            self._ready.append(request)
        if scope_size != self.scope_size:
            await self._refresh_scope(scope_size)
        return wait_ms / 1000 if wait_ms >= 0 else -1.0

    async def _refresh_scope(self, size: int) -> None:
        key = job_prefix(self.job.name) + ":scope"
        members = await self.link.call(lambda: self.client.smembers(key))
        self.scope_size = size
        if self.on_scope is not None:
            self.on_scope(sorted(m.decode() + "/" for m in members))

    def done(self, request: Request) -> None:
        """The fetch is over: free its host slot now; the lease ends at `ack`."""
        self.in_flight -= 1
        lease = self._leases.get(request.fp)
        if lease is not None:
            self._ops += ["r", str(fp_to_sql(request.fp)), lease[0], "", ""]
        self._wake.set()

    def requeue(self, request: Request, not_before: float) -> None:
        """Back to the head of its host's queue; the whole host waits until `not_before`."""
        self.in_flight -= 1
        lease = self._leases.pop(request.fp, None)
        if lease is not None:
            delay_ms = max(0, round((not_before - self._clock()) * 1000))
            self._ops += ["q", str(fp_to_sql(request.fp)), lease[0], encode_entry(request),
                          str(delay_ms)]
        self._wake.set()

    def pause_host(self, url: str, until: float) -> None:
        delay_ms = max(0, round((until - self._clock()) * 1000))
        self._ops += ["p", host_of(url), str(delay_ms), "", ""]

    def set_host_rules(self, url: str, crawl_delay: float | None) -> None:
        key = host_of(url)
        floor = max(self.job.delay, crawl_delay or 0.0)
        if self._floors.get(key) != floor:
            self._floors[key] = floor
            self._delays[key] = max(self._delays.get(key, self.job.start_delay), floor)
            self._ops += ["k", key, str(round(floor * 1000)), "", ""]

    def set_host_delay(self, url: str, delay: float) -> None:
        key = host_of(url)
        delay = max(delay, self._floors.get(key, self.job.delay))
        if abs(self._delays.get(key, -1.0) - delay) >= 0.001:
            self._delays[key] = delay
            self._ops += ["d", key, str(round(delay * 1000)), "", ""]

    def host_delay(self, url: str) -> float:
        return self._delays.get(host_of(url), self.job.start_delay)

    def close(self) -> None:
        """Hand out nothing more (shutdown); in-flight requests may still finish, and their
        links are still queued (FrontierAPI's contract)."""
        self._closed = True
        self._wake.set()

    # --- the record writer's side ----------------------------------------------------------

    async def ack(self, fps: Iterable[int]) -> None:
        """These URLs' records are stored: end their leases."""
        args: list[str] = []
        for fp in fps:
            lease = self._leases.pop(fp, None)
            if lease is not None:
                args += [str(fp_to_sql(fp)), lease[0]]
        if args:
            await self._call(self._ack, args)

    async def shutdown(self) -> None:
        """After the writer closed: give back every lease that got no record (fetches cut off
        by a stop, URLs leased but never started), send the last ops, stop renewing."""
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        for fp, (lease_id, request) in self._leases.items():
            self._ops += ["q", str(fp_to_sql(fp)), lease_id, encode_entry(request), "0"]
        self._leases.clear()
        self._ready.clear()
        if self._ops:
            await self._sync(0)

    async def _renew_forever(self) -> None:
        """Supervised: an unexpected failure is logged and the next turn tries again; after
        RENEW_FAILURES_TO_STOP in a row, or an outage past --outage-seconds, the worker is
        stopped loudly (`get` raises) instead of fetching pages whose leases are expiring."""
        failures = 0
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self._renew_leases()
                failures = 0
            except FrontierUnavailable as exc:
                self._stop_worker(exc)
                return
            except Exception as exc:
                failures += 1
                log.error("renewing this worker's leases failed (%s: %s), %d of %d times in a "
                          "row", type(exc).__name__, exc, failures, RENEW_FAILURES_TO_STOP)
                if failures >= RENEW_FAILURES_TO_STOP:
                    self._stop_worker(CrawlerError(
                        f"renewing leases failed {failures} times in a row ({exc}): stopping "
                        "this worker; other workers take its URLs when the leases expire"))
                    return

    async def _renew_leases(self) -> None:
        args: list[str] = [str(self.lease_ms)]
        for fp, (lease_id, _) in list(self._leases.items()):
            args += [str(fp_to_sql(fp)), lease_id]
        if len(args) > 1:
            await self._call(self._renew, args)

    def _stop_worker(self, reason: CrawlerError) -> None:
        """The leases can no longer be kept: `get` raises `reason` from now on."""
        self.renew_error = reason
        self._wake.set()

    # --- talking to Redis ------------------------------------------------------------------

    async def _call(self, script: Any, args: Sequence[Any]) -> Any:
        self.calls[self._script_names[script.sha]] += 1
        return await self.link.call(lambda: script(keys=[self.meta_key], args=list(args)))


def _refusal(exc: redis_errors.ResponseError, job: str) -> CrawlerError:
    """The one-line error for an answer Redis will give again whatever we do."""
    text = str(exc)
    if text.startswith("NOJOB"):
        return CrawlerError(f"job {job!r} is not in Redis (seed it first: python -m crawler "
                            "seed SEEDS --frontier ...)")
    if isinstance(exc, redis_errors.AskError):  # MOVED or ASK: a cluster node, another slot
        return CrawlerError("--frontier names a node of a Redis Cluster: use "
                            "redis-cluster://HOST:PORT")
    return CrawlerError(f"Redis refused a frontier command: {text}")
