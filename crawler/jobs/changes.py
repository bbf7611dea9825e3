"""Incremental recrawl: conditional request headers, content hashes and change labels.

A record's `change` compares this run's answer with what the job's last run learned (the
request's History): `new` (a page the job never had, or one that came back), `changed`
(another content hash), `unchanged` (304 Not Modified, or the same hash) and `gone` (a page
that now answers 404 or 410). Errors and other answers say nothing: no label.
"""

from __future__ import annotations

import hashlib

from crawler.frontier.request import History


def answer_ok(status: int | None) -> int | None:
    """1: the URL answered with a page (or a redirect); 0: it is gone (404, 410); None: no
    verdict (no answer, 429, 5xx, other 4xx)."""
    if status is None:
        return None
    if status < 400:
        return 1
    return 0 if status in (404, 410) else None


def conditional_headers(history: History | None) -> dict[str, str] | None:
    """If-None-Match / If-Modified-Since from the validators the last run got."""
    if history is None or not history.ok:
        return None
    headers = {}
    if history.etag:
        headers["If-None-Match"] = history.etag
    if history.last_modified:
        headers["If-Modified-Since"] = history.last_modified
    return headers or None


def content_hash(content: bytes) -> str:
    """SHA-256, cut to 128 bits, of what a URL answered (a body, or a redirect's target)."""
    return hashlib.sha256(content).hexdigest()[:32]


def change_of(history: History | None, status: int | None, digest: str | None) -> str | None:
    """The change label of an answer with `status` and content hash `digest`."""
    if status == 304:
        return "unchanged" if history is not None and history.ok else None
    ok = answer_ok(status)
    if ok == 1:
        if history is None or not history.ok:
            return "new"
        return "unchanged" if digest == history.content_hash else "changed"
    if ok == 0 and history is not None and history.ok:
        return "gone"
    return None
