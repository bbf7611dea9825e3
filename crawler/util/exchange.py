"""One HTTP exchange as it went over the wire, kept for archive outputs (WARC): the request
line and headers as sent, the status line and headers as received, and the body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Exchange:
    target: str  # the request target: path and query, as sent
    request_headers: list[tuple[str, str]]
    version: str  # "HTTP/1.1"
    status: int
    reason: str
    headers: list[tuple[str, str]]  # as received, in order, repeats kept (latin-1 decoded)
    body: bytes  # the payload: content codings decoded, cut at the body cap
    started_at: str  # when the request was sent (ISO 8601, UTC)
    method: str = "GET"
    rendered: bytes | None = None  # the page as a browser built it (--render), UTF-8 HTML
    request_body: bytes = b""  # a POST's

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.target} {self.version}"

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}".rstrip()
