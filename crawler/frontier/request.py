"""A URL the frontier hands out, with where it came from and what happened to it so far."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.util.request_spec import target_of


@dataclass(frozen=True, slots=True)
class History:
    """What an earlier run of the job learned about a URL: the validators for a conditional
    request and the content hash that decides `changed` or `unchanged`."""

    ok: bool  # its last answer was a page (status < 400), so a 404 now means `gone`
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


@dataclass(slots=True)
class Request:
    """A URL to fetch: its fingerprint, depth, referrer, and the attempts made on it."""

    url: str
    depth: int
    referrer: str | None = None
    redirects: int = 0  # redirect hops that led to this URL
    fp: int = 0  # the URL's 64-bit fingerprint (crawler.urls.fingerprint)
    history: History | None = None  # set when an earlier run fetched it (a recrawl)
    attempts: int = 0  # fetch attempts made so far
    robots_waits: int = 0  # times it waited for an unreachable robots.txt
    chain: int = 0  # links in a row from pages of the same path pattern (crawler.frontier.traps)
    # a POST or a request with headers of its own (crawler.util.request_spec), as JSON; its
    # url is then the request's name, `URL#post-<key>`
    spec: str | None = None

    @property
    def target(self) -> str:
        """The URL to fetch: `url` without a request's marker."""
        return self.url if self.spec is None else target_of(self.url)
