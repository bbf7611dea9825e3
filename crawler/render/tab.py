"""A browser tab that renders pages: a page's HTML is the crawler's own fetch, every request
the page then makes is fetched by the crawler too (address guard, scope, byte caps) or refused,
and the DOM is read when the page has settled or its deadline has come.

The browser itself reaches no network: it runs behind a proxy that does not exist and a
resolver that finds nothing (crawler.render.browser), so a request the DevTools interception
did not see (a WebSocket, WebRTC) fails instead of escaping the guard.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.render.cdp import BrowserGone, CdpConnection, CommandFailed

log = logging.getLogger(__name__)

# What a rendered page may not load by default: the DOM never needs them.
BLOCKED_TYPES = frozenset({"Image", "Media", "Font", "Ping", "CSPViolationReport", "Manifest",
                           "Prefetch", "SignedExchange"})
# Request headers the browser's own requests keep (its cookies, user agent and the rest are the
# crawler's to set).
FORWARDED = frozenset({"accept", "accept-language", "content-type", "x-requested-with",
                       "origin", "referer", "range"})
# Response headers handed back to the browser: the body is already decoded, and its length is
# what we send.
DROPPED_ANSWER = frozenset({"content-encoding", "content-length", "transfer-encoding",
                            "set-cookie", "connection", "keep-alive"})
# Runs before the page's own scripts: popups go nowhere, and DOM changes are timed, so the wait
# can tell a page still building itself from one that is done.
BOOTSTRAP = """
window.open = function () { return null; };
window.__crawlerLastChange = Date.now();
new MutationObserver(function () { window.__crawlerLastChange = Date.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
SETTLED = "Date.now() - (window.__crawlerLastChange || 0)"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response for the browser: what the crawler fetched for one of the page's requests."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


SubFetch = Callable[[str, str, dict[str, str], bytes | None], Awaitable[Answer | str]]
# (url, resource type, main frame) -> why the page may not load it, or None
Policy = Callable[[str, str, bool], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    timeout: float = 20.0  # the whole page, from opening the tab to reading the DOM
    settle_ms: int = 500  # no request in flight and no DOM change for this long: done
    wait_selector: str = ""  # also wait until this CSS selector matches (or the deadline)
    scrolls: int = 0  # scroll to the bottom this many times, settling after each
    max_requests: int = 200  # requests one page may make; more are refused
    blocked_types: frozenset[str] = BLOCKED_TYPES
    width: int = 1280
    height: int = 900


@dataclass(slots=True)
class Rendered:
    """What rendering gave: the DOM as HTML (None when there is nothing to read), and why the
    page was cut short, if it was."""

    html: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    requests: int = 0
    refused: list[str] = field(default_factory=list)  # why each refused request was refused
    crashed: bool = False  # the tab or the browser died: worth one more try


@dataclass(slots=True)
class _Visit:
    """One page's state while its tab renders it."""

    url: str
    answer: Answer
    result: Rendered = field(default_factory=Rendered)
    in_flight: int = 0
    last_request: float = field(default_factory=time.monotonic)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    served_document: bool = False


class Tab:
    """One tab, kept for RECYCLE_PAGES pages: `await tab.open(context)` in the browser context
    it is to live in, then `await tab.render(url, answer)` page after page; `healthy` turns False
    when a page broke it (a crash, a script that would not stop), and it is closed then."""

    def __init__(self, connection: CdpConnection, fetch: SubFetch, policy: Policy,
                 options: RenderOptions) -> None:
        self.connection = connection
        self.fetch = fetch
        self.policy = policy
        self.options = options
        self.target = ""
        self.session = ""
        self.pages = 0
        self.healthy = True
        self.gone = asyncio.Event()  # the tab crashed or the browser closed
        self._visit: _Visit | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def open(self, context: str) -> None:
        send = self.connection.send
        target = await send("Target.createTarget", {
            "url": "about:blank", "browserContextId": context, "newWindow": True,
            "width": self.options.width, "height": self.options.height})
        self.target = target["targetId"]
        attached = await send("Target.attachToTarget", {"targetId": self.target,
                                                        "flatten": True})
        self.session = attached["sessionId"]
        self.connection.listen(self.session, self._event)
        session = self.session
        await asyncio.gather(
            send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session),
            send("Page.enable", {}, session),
            send("Page.addScriptToEvaluateOnNewDocument", {"source": BOOTSTRAP}, session),
            send("Inspector.enable", {}, session),
        )

    async def render(self, url: str, answer: Answer) -> Rendered:
        """Render `url`, whose document the crawler fetched as `answer`."""
        visit = self._visit = _Visit(url, answer)
        result = visit.result
        started = time.monotonic()
        deadline = started + self.options.timeout
        self.pages += 1
        try:
            async with asyncio.timeout(self.options.timeout):
                await self._load_and_settle(visit, deadline)
        except TimeoutError:
            result.error = (f"render: the page did not settle within --render-timeout "
                            f"{self.options.timeout:g}s")
        except (BrowserGone, CommandFailed) as exc:
            result.crashed = True
            result.error = "render: the tab crashed (out of memory, or killed)" if (
                self.gone.is_set() and not self.connection.closed) else (
                f"render: the browser failed ({exc})")
        if result.html is None and not self.gone.is_set() and not result.crashed:
            result.html = await self._dom(grace=2.0)
            if result.html is None:
                self.healthy = False  # a script holds the tab: do not hand it another page
        if self.gone.is_set():
            result.crashed = True
            result.error = result.error or "render: the tab crashed"
        if result.crashed:
            self.healthy = False
        self._visit = None
        result.elapsed = time.monotonic() - started
        return result

    async def _load_and_settle(self, visit: _Visit, deadline: float) -> None:
        await self._send("Page.navigate", {"url": visit.url})
        await self._wait(visit.loaded)
        await self._settle(visit, deadline)
        for _ in range(self.options.scrolls):
            await self._evaluate("window.scrollTo(0, document.body ? "
                                 "document.body.scrollHeight : 0)")
            await self._settle(visit, deadline)
        if self.options.wait_selector:
            await self._until(f"!!document.querySelector({json.dumps(self.options.wait_selector)})")
        visit.result.html = await self._dom()

    async def _wait(self, event: asyncio.Event) -> None:
        gone = asyncio.ensure_future(self.gone.wait())
        waited = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({gone, waited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            waited.cancel()
        if self.gone.is_set():
            raise BrowserGone("the tab crashed")

    async def _settle(self, visit: _Visit, deadline: float) -> None:
        """Wait until no request is in flight and the DOM has not changed for settle_ms. It
        sleeps until the earliest moment both could hold, so a page costs a few checks, not
        a poll every few milliseconds (16 tabs polling took a core)."""
        quiet = self.options.settle_ms / 1000
        while True:
            if self.gone.is_set():
                raise BrowserGone("the tab crashed")
            now = time.monotonic()
            if now >= deadline:
                return
            wait = quiet / 4  # requests in flight: look again soon
            if visit.in_flight == 0:
                idle = now - visit.last_request
                if idle >= quiet:
                    since_change = await self._evaluate(SETTLED)
                    if not isinstance(since_change, int | float):
                        since_change = 0
                    if since_change >= quiet * 1000:
                        return
                    wait = quiet - since_change / 1000
                else:
                    wait = quiet - idle
            await asyncio.sleep(max(0.01, min(wait, deadline - now)))

    async def _until(self, expression: str) -> None:
        """Poll the page until `expression` is true (a page has no event to wait on for it)."""
        while not await self._evaluate(expression):  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    async def _evaluate(self, expression: str) -> Any:
        answer = await self._send("Runtime.evaluate", {"expression": expression,
                                                       "returnByValue": True})
        return answer.get("result", {}).get("value")

    async def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A command to the tab, given up (BrowserGone) as soon as the tab dies: a renderer
        that crashed mid-command never answers it."""
        command = asyncio.ensure_future(self.connection.send(method, params, self.session))
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait({command, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not command.done():
            command.cancel()
            raise BrowserGone("the tab crashed")
        return command.result()

    async def _dom(self, grace: float | None = None) -> str | None:
        """The document as HTML now. After the deadline a page's script may still hold the
        tab: stop it first, and give up after `grace` seconds."""
        try:
            async with asyncio.timeout(grace):
                if grace is not None:
                    with contextlib.suppress(CommandFailed):
                        await self._send("Runtime.terminateExecution", {})
                html = await self._evaluate("document.documentElement ? "
                                            "document.documentElement.outerHTML : ''")
        except (TimeoutError, BrowserGone, CommandFailed):
            return None
        return html if isinstance(html, str) else None

    async def stop(self) -> None:
        """Stop answering the tab's requests (the browser is about to close it)."""
        self.connection.listen(self.session, None)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.stop()
        if self.connection.closed:
            return
        with contextlib.suppress(BrowserGone, CommandFailed, TimeoutError):
            async with asyncio.timeout(5):
                if self.target:
                    await self.connection.send("Target.closeTarget", {"targetId": self.target})

    # --- events -----------------------------------------------------------------------------

    def _event(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Fetch.requestPaused":
            self._spawn(self._answer_request(params))
        elif method == "Page.loadEventFired":
            if self._visit is not None:
                self._visit.loaded.set()
        elif method == "Page.javascriptDialogOpening":  # alert, confirm, prompt, beforeunload
            self._spawn(self._send_quietly("Page.handleJavaScriptDialog", {"accept": False}))
        elif method in ("Inspector.targetCrashed", "Inspector.detached", "Browser.gone"):
            self.gone.set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_quietly(self, method: str, params: dict[str, Any]) -> None:
        with contextlib.suppress(BrowserGone, CommandFailed):
            await self.connection.send(method, params, self.session)

    async def _answer_request(self, params: dict[str, Any]) -> None:
        request_id = params["requestId"]
        visit = self._visit
        if visit is None:  # a request of a page already done: nobody waits for it
            await self._send_quietly("Fetch.failRequest", {"requestId": request_id,
                                                           "errorReason": "Aborted"})
            return
        request = params["request"]
        url, kind = request["url"], params.get("resourceType", "Other")
        main_frame = params.get("frameId") == self.target
        result = visit.result
        visit.in_flight += 1
        try:
            if kind == "Document" and main_frame and not visit.served_document:
                visit.served_document = True  # the page itself: the crawler fetched it already
                await self._fulfill(request_id, visit.answer)
                return
            refusal = await self._refusal(visit, url, kind, main_frame)
            if refusal is not None:
                result.refused.append(f"{url}: {refusal}")
                await self._send_quietly("Fetch.failRequest", {
                    "requestId": request_id, "errorReason": "BlockedByClient"})
                return
            result.requests += 1
            headers = {name: value for name, value in request.get("headers", {}).items()
                       if name.lower() in FORWARDED}
            fetched = await self.fetch(url, request.get("method", "GET"), headers,
                                       _post_data(request))
            if isinstance(fetched, str):
                result.refused.append(f"{url}: {fetched}")
                await self._send_quietly("Fetch.failRequest", {
                    "requestId": request_id, "errorReason": "Failed"})
                return
            await self._fulfill(request_id, fetched)
        finally:
            visit.in_flight -= 1
            visit.last_request = time.monotonic()

    async def _refusal(self, visit: _Visit, url: str, kind: str, main_frame: bool
                       ) -> str | None:
        if kind in self.options.blocked_types:
            return f"{kind.lower()} requests are not loaded"
        if kind == "Document" and main_frame:
            return "the page tried to leave for another page"
        if visit.result.requests >= self.options.max_requests:
            return f"more than {self.options.max_requests} requests from one page"
        return await self.policy(url, kind, main_frame)

    async def _fulfill(self, request_id: str, answer: Answer) -> None:
        headers = [{"name": name, "value": value} for name, value in answer.headers
                   if name.lower() not in DROPPED_ANSWER]
        await self._send_quietly("Fetch.fulfillRequest", {
            "requestId": request_id, "responseCode": answer.status, "responseHeaders": headers,
            "body": base64.b64encode(answer.body).decode("ascii")})


def _post_data(request: dict[str, Any]) -> bytes | None:
    entries = request.get("postDataEntries")
    if entries:
        return b"".join(base64.b64decode(entry.get("bytes", "")) for entry in entries)
    data = request.get("postData")
    return data.encode() if isinstance(data, str) else None
