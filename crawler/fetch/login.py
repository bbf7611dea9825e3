"""Signing in with the site's own form (--login URL --login-field NAME=VALUE): the login page is
fetched with the crawl's session, its form filled as Scrapy's FormRequest.from_response fills
one (every field the page put there is kept, hidden CSRF tokens too; the user's fields on
top), and posted; the session cookie it sets lands in the job's jar. A page that redirects to
the login URL means the crawl was signed out: `again()` signs in once more, a bounded number
of times, and the page is fetched again.

--login-hook MODULE:FUNCTION signs in with the user's own code instead: an async function given
a `LoginSession` (the crawl's fetcher: its headers, cookie jar, proxies and address guard), for
sign-ins a form cannot do (a JSON API, a token in a header, several steps).

Field values are secrets: no message here holds one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.errors import UsageError
from crawler.fetch.fetcher import Fetcher, FetchResult
from crawler.settings import Settings
from crawler.urls import BadURL, canonical
from crawler.util.functions import load_function

log = logging.getLogger(__name__)
# Links a signed-in crawl does not follow: fetching one would sign it out (/logout, /sign-out,
# /logoff, ?action=logout...).
LOGOUT = r"(?i)(log|sign)[-_]?(out|off)\b"
HOPS = 5  # redirects followed on the way to the form, and after posting it
FORM_BYTES = 2 << 20


class LoginFailed(UsageError):
    """The sign-in did not work; the message says why, in one line, without a field's value."""


def parse_fields(entries: tuple[str, ...]) -> dict[str, str]:
    """--login-field's NAME=VALUE entries (checked by the settings) as a mapping."""
    return {name.strip(): value for name, _, value in (e.partition("=") for e in entries)}


@dataclass(frozen=True, slots=True)
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]]


def find_form(html: str, page_url: str, wanted: set[str]) -> Form | None:
    """The sign-in form of a page: the one with an input named like the user's fields, else
    the one with a password input, else the first; its fields as the browser would send them."""
    tree = LexborHTMLParser(html)
    forms = tree.css("form")
    if not forms:
        return None

    def names(form: LexborNode) -> set[str]:
        return {node.attributes.get("name") or "" for node in form.css("input, select, textarea")}

    form = next((f for f in forms if wanted & names(f)), None) or next(
        (f for f in forms if f.css_first("input[type=password]") is not None), forms[0])
    fields: list[tuple[str, str]] = []
    for node in form.css("input, select, textarea"):
        name = node.attributes.get("name")
        kind = (node.attributes.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset", "file") or \
                "disabled" in node.attributes:
            continue
        if kind in ("checkbox", "radio") and "checked" not in node.attributes:
            continue
        if node.tag == "select":
            chosen = node.css_first("option[selected]") or node.css_first("option")
            value = (chosen.attributes.get("value") or chosen.text()) if chosen else ""
        elif node.tag == "textarea":
            value = node.text()
        else:
            value = node.attributes.get("value") or ("on" if kind == "checkbox" else "")
        fields.append((name, value or ""))
    try:
        action = canonical(form.attributes.get("action") or page_url, page_url)
    except BadURL:
        action = page_url
    method = (form.attributes.get("method") or "get").upper()
    return Form(action, "POST" if method == "POST" else "GET", fields)


@dataclass(frozen=True, slots=True)
class LoginResponse:
    """An answer a --login-hook got: where it ended (redirects followed), status, headers, text."""

    url: str
    status: int | None
    headers: Mapping[str, str]
    text: str
    error: str | None = None  # why there was no answer


class LoginSession:
    """What a --login-hook function is given: the crawl's own session to sign in with. Its
    requests follow redirects and go through the crawl's headers, cookie jar, proxies and
    address guard; the cookies the site sets stay in the job's jar."""

    def __init__(self, signer: SignIn) -> None:
        self._signer = signer
        self.login_url = signer.login_url  # --login, or ""
        self.fields = dict(signer.fields)  # --login-field NAME=VALUE (keep the secrets off code)

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> LoginResponse:
        return await self._send(url, "GET", None, headers)

    async def post(self, url: str, data: Mapping[str, str] | str | bytes,
                   headers: Mapping[str, str] | None = None) -> LoginResponse:
        """POST `data`: a mapping is sent form-encoded, text or bytes as they are (give the
        Content-Type in `headers`, e.g. application/json)."""
        sent = dict(headers or {})
        if isinstance(data, Mapping):
            body = urlencode(list(data.items())).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            body = data.encode() if isinstance(data, str) else bytes(data)
        return await self._send(url, "POST", body, sent)

    def form_fields(self, response: LoginResponse) -> dict[str, str]:
        """The fields of the response's sign-in form as a browser would send them (hidden CSRF
        tokens too), to update with the user's and post."""
        form = find_form(response.text, response.url, set(self.fields))
        return dict(form.fields) if form is not None else {}

    async def _send(self, url: str, method: str, data: bytes | None,
                    headers: Mapping[str, str] | None) -> LoginResponse:
        try:
            target = canonical(url, self.login_url or None)
        except BadURL as exc:
            return LoginResponse(url, None, {}, "", f"bad URL: {exc}")
        result = await self._signer._follow(target, method, data, headers=dict(headers or {}))
        return LoginResponse(result.url, result.status, result.headers or {},
                             result.body.decode("utf-8", "replace"), result.error)


LoginHook = Callable[[LoginSession], Awaitable[Any]]


class SignIn:
    """Signs the crawl in through its fetcher; `sign_in()` first, `again()` when signed out."""

    def __init__(self, fetcher: Fetcher, login_url: str, fields: dict[str, str],
                 attempts: int = 3, hook: LoginHook | None = None, hook_name: str = "") -> None:
        self.fetcher = fetcher
        self.login_url = login_url
        self.fields = fields
        self.hook, self.hook_name = hook, hook_name  # --login-hook
        self.attempts = attempts  # sign-ins after the first, in one run
        self.sign_ins = 0
        self.generation = 0  # bumped by each sign-in: a page fetched before it may retry
        self._lock = asyncio.Lock()
        path = login_url.split("?", 1)[0]
        self._login_page = path

    def is_login_redirect(self, result: FetchResult, url: str) -> bool:
        """Whether `result` (of `url`) sends the crawl to the login page: it was signed out."""
        if result.location is None or not (300 <= (result.status or 0) < 400):
            return False
        try:
            target = canonical(result.location, url)
        except BadURL:
            return False
        return target.split("?", 1)[0] == self._login_page

    async def sign_in(self) -> None:
        """Fetch the login page, fill its form and post it (or run --login-hook); LoginFailed
        saying why."""
        if self.hook is not None:
            await self._run_hook()
        else:
            await self._fill_form()
        self.sign_ins += 1
        self.generation += 1
        log.info("signed in at %s (sign-in %d)", self.login_url or self.hook_name,
                 self.sign_ins)

    async def _run_hook(self) -> None:
        assert self.hook is not None
        try:
            outcome = await self.hook(LoginSession(self))
        except Exception as exc:
            raise LoginFailed(f"--login-hook {self.hook_name}: {type(exc).__name__}: "
                              f"{str(exc)[:200]}") from None
        if outcome is False:
            raise LoginFailed(f"--login-hook {self.hook_name}: it returned False (not signed "
                              "in)")

    async def _fill_form(self) -> None:
        page = await self._follow(self.login_url, "GET", None)
        if page.error is not None or page.status != 200:
            raise LoginFailed(f"--login {self.login_url}: the login page did not load "
                              f"({page.error or page.status})")
        form = find_form(page.body.decode("utf-8", "replace"), page.url, set(self.fields))
        if form is None:
            raise LoginFailed(f"--login {self.login_url}: the page has no form to sign in with")
        sent = dict(form.fields)
        sent.update(self.fields)
        body = urlencode(list(sent.items())).encode()
        if form.method == "POST":
            answer = await self._follow(form.action, "POST", body, referer=page.url)
        else:
            answer = await self._follow(f"{form.action.split('?', 1)[0]}?{body.decode()}",
                                        "GET", None, referer=page.url)
        if answer.error is not None or (answer.status or 0) >= 400:
            raise LoginFailed(f"--login {self.login_url}: sign-in refused "
                              f"({answer.error or answer.status}); check --login-field")
        returned = find_form(answer.body.decode("utf-8", "replace"), answer.url,
                             set(self.fields)) if answer.body else None
        if answer.url.split("?", 1)[0] == self._login_page and returned is not None and \
                set(self.fields) & {name for name, _ in returned.fields}:
            raise LoginFailed(f"--login {self.login_url}: the login form came back; check "
                              "--login-field (names and values)")

    async def again(self, seen_generation: int) -> bool:
        """Sign in again after being signed out, unless another page already did since
        `seen_generation`; False once the run's sign-ins are used up or one failed."""
        async with self._lock:
            if self.generation != seen_generation:
                return True
            if self.sign_ins > self.attempts:
                return False
            try:
                await self.sign_in()
            except LoginFailed as exc:
                log.warning("%s", exc)
                self.sign_ins += 1  # a failure counts against the bound too
                return False
            return True

    async def _follow(self, url: str, method: str, data: bytes | None,
                      referer: str | None = None,
                      headers: dict[str, str] | None = None) -> FetchResult:
        """Fetch `url`, following redirects (as GET) up to HOPS."""
        headers = dict(headers or {})
        if referer:
            headers["Referer"] = referer
        if data is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        result = await self.fetcher.fetch(url, max_bytes=FORM_BYTES, headers=headers,
                                          method=method, data=data, keep_headers=True)
        for _ in range(HOPS):
            if result.location is None or not (300 <= (result.status or 0) < 400):
                break
            try:
                url = canonical(result.location, url)
            except BadURL:
                break
            result = await self.fetcher.fetch(url, max_bytes=FORM_BYTES)
        return result


async def signed_in(settings: Settings, fetcher: Fetcher) -> SignIn | None:
    """Sign the crawl in (--login, --login-hook), before its first page; None without either.
    LoginFailed (one line, exit status 2) when it does not work."""
    if not settings.login and not settings.login_hook:
        return None
    login_url = ""
    if settings.login:
        try:
            login_url = canonical(settings.login, rules=settings.url_rules)
        except BadURL as exc:
            raise LoginFailed(f"--login {settings.login}: {exc}") from None
    hook = load_function(settings.login_hook, "--login-hook") if settings.login_hook else None
    signer = SignIn(fetcher, login_url, parse_fields(settings.login_fields),
                    settings.login_attempts, hook, settings.login_hook)
    await signer.sign_in()
    return signer


def deny_for(deny: tuple[str, ...], login: str) -> tuple[str, ...]:
    """The scope's deny patterns: with --login, sign-out links too."""
    return (*deny, LOGOUT) if login else deny
