"""The job's cookie jar: what sites set is kept (aiohttp's CookieJar applies the domain, path,
Secure and expiry rules as browsers do), saved in the job directory so a resumed or recrawled
job stays signed in, and seeded from a Netscape cookies.txt (--cookies, as curl and wget
write and read it; parsed by the standard library's MozillaCookieJar).

The saved jar holds secrets: it is written owner-only (0600), and no cookie value is ever put
in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import logging
import os
import time
import warnings
from email.utils import formatdate
from http.cookies import Morsel
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from crawler.errors import UsageError
from crawler.settings import Settings

log = logging.getLogger(__name__)
JAR_NAME = "cookies.json"  # in the job directory
NO_URL = URL()


class Jar(aiohttp.CookieJar):
    """A jar that keeps what sites set (IP-address hosts' cookies too, as browsers do), or,
    once `freeze()`d (--no-keep-cookies), sends what it holds and keeps nothing new."""

    def __init__(self) -> None:
        super().__init__(unsafe=True)
        self.frozen = False

    def freeze(self) -> None:
        self.frozen = True

    def update_cookies(self, cookies: Any, response_url: URL = NO_URL) -> None:
        if not self.frozen:
            super().update_cookies(cookies, response_url)

    def update_cookies_from_headers(self, headers: Any, response_url: URL) -> None:
        if not self.frozen:
            super().update_cookies_from_headers(headers, response_url)


def read_cookies_file(path: Path, jar: aiohttp.CookieJar) -> int:
    """Add the cookies of a Netscape cookies.txt to `jar`: session cookies too (curl writes
    them with expiry 0), expired ones not. UsageError in one line for a file that is not one.
    Returns how many were added."""
    mozilla = http.cookiejar.MozillaCookieJar()
    try:
        with warnings.catch_warnings():  # it warns with a traceback, then raises LoadError
            warnings.simplefilter("ignore")
            mozilla.load(str(path), ignore_discard=True, ignore_expires=True)
    except OSError as exc:
        raise UsageError(f"--cookies {path}: cannot read it ({exc.strerror or exc})") from None
    except http.cookiejar.LoadError as exc:
        reason = str(exc).splitlines()[0][:200]
        raise UsageError(f"--cookies {path}: not a Netscape cookies.txt file ({reason})"
                         ) from None
    added = 0
    now = time.time()
    for cookie in mozilla:
        if cookie.value is None or not cookie.domain or (cookie.expires and
                                                         cookie.expires < now):
            continue  # expiry 0 is a session cookie (curl's), not one long expired
        morsel: Morsel[str] = Morsel()
        morsel.set(cookie.name, cookie.value, cookie.value)
        morsel["path"] = cookie.path or "/"
        host = cookie.domain.lstrip(".")
        if cookie.domain_specified or cookie.domain.startswith("."):
            morsel["domain"] = host  # a domain cookie: its subdomains get it too
        if cookie.secure:
            morsel["secure"] = True
        if cookie.has_nonstandard_attr("HttpOnly"):
            morsel["httponly"] = True
        if cookie.expires:
            morsel["expires"] = formatdate(cookie.expires, usegmt=True)
        jar.update_cookies({cookie.name: morsel}, response_url=URL.build(
            scheme="https", host=host))
        added += 1
    return added


def load_job_jar(job_dir: Path, jar: aiohttp.CookieJar) -> int:
    """The cookies the job kept in an earlier run; 0 when it has none. A damaged jar file is
    set aside with a warning (the crawl goes on signed out rather than not at all)."""
    path = job_dir / JAR_NAME
    if not path.exists():
        return 0
    try:
        json.loads(path.read_text(encoding="utf-8"))  # JSON only: never the pickle fallback
        jar.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the job's cookie jar %s could not be read (%s); it is set aside and the "
                    "crawl starts with no cookies", path, type(exc).__name__)
        with contextlib.suppress(OSError):
            path.replace(path.with_suffix(".damaged"))
        return 0
    return len(jar)


class JarSaver:
    """Saves the jar in the job directory when it changed: `maybe_save()` every few seconds,
    `save()` at the end of the run."""

    def __init__(self, job_dir: Path, jar: aiohttp.CookieJar) -> None:
        self.path = job_dir / JAR_NAME
        self.jar = jar
        self._saved: int | None = None
        self.saved_at = 0.0

    def _signature(self) -> int:
        return hash(tuple(sorted((m["domain"], m["path"], m.key, m.value, m["expires"])
                                 for m in self.jar)))

    def maybe_save(self) -> None:
        if self._signature() != self._saved:
            self.save()

    def save(self) -> None:
        signature = self._signature()
        if signature == self._saved:
            return
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            self.jar.save(temp)
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("could not save the job's cookies in %s: %s", self.path,
                        exc.strerror or exc)
            return
        self._saved = signature
        self.saved_at = time.monotonic()


def open_jar(settings: Settings, job_dir: Path | None
             ) -> tuple[aiohttp.abc.AbstractCookieJar, JarSaver | None]:
    """The crawl's jar and what saves it: the job's kept cookies, then --cookies' on top
    (UsageError for a file that is not one); no jar at all with --no-keep-cookies and no
    --cookies. A cluster worker passes no `job_dir`: its jar lives as long as it does."""
    if not settings.keep_cookies and not settings.cookies:
        return aiohttp.DummyCookieJar(), None
    jar = Jar()
    kept = load_job_jar(job_dir, jar) if settings.keep_cookies and job_dir else 0
    added = read_cookies_file(Path(settings.cookies), jar) if settings.cookies else 0
    if kept or added:
        log.info("cookies: %d kept by the job, %d from --cookies", kept, added)
    if not settings.keep_cookies:
        jar.freeze()
        return jar, None
    return jar, JarSaver(job_dir, jar) if job_dir else None


SAVE_SECONDS = 5.0  # a kill -9 loses at most this much of what sites set


async def keep_saving(saver: JarSaver) -> None:
    """Save the jar every SAVE_SECONDS while it changes, until cancelled."""
    while True:
        await asyncio.sleep(SAVE_SECONDS)
        saver.maybe_save()
