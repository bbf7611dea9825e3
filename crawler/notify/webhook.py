"""Delivers a job's change notifications (`--webhook URL`) while it crawls: every few seconds
the change records committed since are batched (crawler.notify.outbox), and the batches are
POSTed in order, signed (crawler.notify.signing), to an address the job's address guard
allows; a failed delivery is tried again with exponential backoff, in this run and the next.

When the run ends the notifier batches the last changes and waits up to DRAIN_SECONDS for the
receiver to take them; what is still pending then goes first at the job's next run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from pathlib import Path
from types import TracebackType

import aiohttp

from crawler.errors import UsageError
from crawler.fetch.guard import AddressGuard, GuardedResolver, addresses_of
from crawler.notify.outbox import Batch, Outbox
from crawler.notify.signing import signed_headers
from crawler.settings import Settings
from crawler.urls import BadURL, canonical, host_of

log = logging.getLogger(__name__)
COLLECT_SECONDS = 2.0  # how often new change records are batched and sent
DRAIN_SECONDS = 30.0  # how long the end of a run waits for the receiver
TIMEOUT_SECONDS = 15.0  # one delivery attempt
MAX_ATTEMPTS = 12  # then the batch is given up (logged, and counted in the report)
FIRST_RETRY, MAX_RETRY = 2.0, 1800.0  # seconds: doubling from FIRST_RETRY up to MAX_RETRY


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones, with jitter."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)


class Notifier:
    """`async with Notifier(settings, guard, db_path, job_id):` around a run; does nothing
    when the job has no webhook."""

    def __init__(self, settings: Settings, guard: AddressGuard, db_path: Path,
                 job_id: str) -> None:
        self.url = settings.webhook
        # logs and errors name only its origin: a receiver's path often is its secret
        # (https://hooks.slack.com/services/T0/B0/XXXX)
        scheme, _, rest = self.url.partition("://")
        self.shown = f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}/..."
        self.canonical = ""
        self.secret = settings.webhook_secret
        self.user_agent = settings.user_agent
        self.guard = guard
        self.db_path = db_path
        self.job_id = job_id
        self.batch_size = settings.webhook_batch
        self.outbox: Outbox | None = None
        self.session: aiohttp.ClientSession | None = None
        self.task: asyncio.Task[None] | None = None
        self.counts: dict[str, int] | None = None  # at the end: changes by batch state
        self.hurried = False
        self.stopping = asyncio.Event()

    def hurry(self) -> None:
        """The run is stopping (a signal): end without waiting for the receiver."""
        self.hurried = True

    async def __aenter__(self) -> Notifier:
        if not self.url:
            return self
        if not self.canonical:
            await self.check_address()
        self.outbox = await asyncio.to_thread(Outbox, self.db_path, self.job_id,
                                              self.batch_size)
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=GuardedResolver(self.guard), limit=1),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        if not self.secret:
            log.warning("--webhook without --webhook-secret: deliveries are not signed")
        self.task = asyncio.create_task(self._run(), name="webhook")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.outbox is None or self.session is None:
            return
        if self.task is not None:  # ends after the delivery in flight: none is cut off
            self.stopping.set()
            await self.task
        try:
            if exc is None and not self.hurried:
                await asyncio.wait_for(self._drain(), DRAIN_SECONDS)
        except TimeoutError:
            pass
        except Exception:  # never the crawl's end: the batches wait in crawl.db
            log.exception("webhook: delivering changes failed")
        finally:
            self.counts = await asyncio.to_thread(self.outbox.counts)
            await self.session.close()
            await asyncio.to_thread(self.outbox.close)
        if self.counts["pending"]:
            log.warning("webhook: %d changes not yet delivered to %s; the job's next run "
                        "sends them", self.counts["pending"], self.shown)

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self._step()
            except Exception:  # never the crawl's end: the batches wait in crawl.db
                log.exception("webhook: delivering changes failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), COLLECT_SECONDS)

    async def _step(self) -> float | None:
        """Batch new changes and send what is due; seconds until the next batch is due
        (None: nothing is pending)."""
        assert self.outbox is not None
        await asyncio.to_thread(self.outbox.collect)
        while (batch := await asyncio.to_thread(self.outbox.next_batch)) is not None:
            if self.stopping.is_set() and self.hurried:
                return None
            wait = batch.next_at - time.time()
            if wait > 0:
                return wait
            await self._deliver(batch)
        return None

    async def _drain(self) -> None:
        while (wait := await self._step()) is not None:  # noqa: ASYNC110 (a retry's backoff)
            await asyncio.sleep(min(wait, DRAIN_SECONDS))

    async def _deliver(self, batch: Batch) -> None:
        assert self.outbox is not None and self.session is not None
        error = self.guard.check_url(self.canonical)  # an IP literal (a name: the resolver)
        if error is None:
            headers = {"Content-Type": "application/json", "User-Agent": self.user_agent,
                       **signed_headers(self.secret, batch.id, batch.body)}
            try:
                async with self.session.post(self.url, data=batch.body, headers=headers,
                                             allow_redirects=False) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        await asyncio.to_thread(self.outbox.delivered, batch)
                        log.info("webhook: %d changes delivered (%s)", batch.changes, batch.id)
                        return
                    error = f"the receiver answered {response.status}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300] or "failed"
        attempts = batch.attempts + 1
        retry = retry_delay(attempts) if attempts < MAX_ATTEMPTS else None
        await asyncio.to_thread(self.outbox.failed, batch, error or "failed", retry)
        if retry is None:
            log.error("webhook: gave up %d changes (%s) after %d attempts: %s", batch.changes,
                      batch.id, attempts, error)
        else:
            log.warning("webhook: delivery %s failed (%s); trying again in %.0fs", batch.id,
                        error, retry)

    async def check_address(self) -> None:
        """UsageError before the run when every address of the webhook's host is one the
        job's address guard refuses (its resolver checks again at each delivery)."""
        if not self.url:
            return
        try:
            self.canonical = canonical(self.url)
        except BadURL as exc:
            raise UsageError(f"--webhook {self.shown}: {exc}") from None
        host = host_of(self.canonical)
        addresses = await addresses_of([host])
        problems = [problem for ip in addresses if (problem := self.guard.check(ip))]
        if addresses and len(problems) == len(addresses):
            raise UsageError(f"--webhook {self.shown}: {problems[0]}")

