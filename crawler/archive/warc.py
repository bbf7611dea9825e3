"""`-o crawl.warc.gz` (or `.warc`): WARC/1.1 files written with warcio.

Each file opens with a `warcinfo` record. Each fetch is a `response` record (the status line
and headers as received, then the payload) and a `request` record (the request line and headers
as sent, the values of Authorization, Proxy-Authorization and Cookie redacted), or a `revisit`
record on a recrawl: profile server-not-modified for a 304, identical-payload-digest when the
body hashes as before. warcio adds WARC-Block-Digest and
WARC-Payload-Digest; a body our cap cut gets `WARC-Truncated: length`.

The payload is stored decoded: aiohttp undoes the Content-Encoding (gzip, br, zstd...), so the
record's headers say what the payload is. Content-Encoding and Transfer-Encoding go, kept as
X-Crawler-Original-Content-Encoding and X-Crawler-Original-Transfer-Encoding, and Content-Length
is the payload's length. A replay serves the bytes the site meant, with headers that describe
them (warcio's own choice when it decodes).

Files rotate at `--warc-max-bytes` (checked between batches) with serial numbers in their
names, Heritrix style: crawl.warc.gz is written as crawl-00000-20261130103512.warc.gz, then
crawl-00001-....warc.gz. Exactly once across kill -9: the job commits the current file's serial
and length with each batch (crawler.sinks.append); a resume cuts that file back to its
committed length and removes any later file no commit covers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.sinks.append import AppendOnlyFile
from crawler.sinks.base import Row, SinkError
from crawler.util.exchange import Exchange
from crawler.util.request_spec import target_of
from crawler.version import __version__

log = logging.getLogger(__name__)
GZIP_LEVEL = 6
SERIAL_SHIFT = 40  # checkpoint = serial << 40 | length (files up to 1 TiB)
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
DROPPED_HEADERS = {"content-encoding": "X-Crawler-Original-Content-Encoding",
                   "transfer-encoding": "X-Crawler-Original-Transfer-Encoding"}
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
REDACTED = "[redacted]"


def split_name(path: Path) -> tuple[str, str]:
    """("crawl", ".warc.gz") from crawl.warc.gz."""
    name = path.name
    for suffix in (".warc.gz", ".warc"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], name[-len(suffix):]
    raise ValueError(f"{path} is not a .warc or .warc.gz path")


def payload_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def stored_headers(headers: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """The response's headers for a decoded payload of `length` bytes."""
    out = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in DROPPED_HEADERS:
            out.append((DROPPED_HEADERS[lowered], value))
        elif lowered != "content-length":
            out.append((name, value))
    out.append(("Content-Length", str(length)))
    return out


def redacted(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Request headers with the values of credentials replaced (an Authorization keeps its
    scheme: `Basic [redacted]`), as archiving crawlers store them."""
    out = []
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value and "authorization" in \
                name.lower() else ""
            value = f"{scheme} {REDACTED}" if scheme else REDACTED
        out.append((name, value))
    return out


def warc_date(iso: str) -> str:
    """WARC-Date: ISO 8601 UTC, with the milliseconds WARC/1.1 allows."""
    return iso if iso.endswith("Z") else iso + "Z"


class WarcSink:
    """Writes each batch's exchanges as WARC records, one gzip member per record (`.gz`)."""

    def __init__(self, path: Path, max_bytes: int, info: dict[str, Any] | None = None) -> None:
        self.path = path
        self.name = str(path.absolute())
        self.stem, self.suffix = split_name(path)
        self.gzip = self.suffix.lower().endswith(".gz")
        self.max_bytes = max_bytes
        self.info = info or {}
        self.serial = 0
        self._out: AppendOnlyFile | None = None

    # -- files ------------------------------------------------------------------------------

    def _files(self, serial: int) -> list[Path]:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        return sorted(folder.glob(f"{self.stem}-{serial:05d}-*{self.suffix}"))

    def _latest_serial(self) -> int | None:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        serials = []
        for found in folder.glob(f"{self.stem}-*{self.suffix}"):
            part = found.name[len(self.stem) + 1:].split("-", 1)[0]
            if part.isdigit():
                serials.append(int(part))
        return max(serials) if serials else None

    def _open_file(self, serial: int, checkpoint: int | None) -> None:
        existing = self._files(serial)
        if existing:
            path = existing[0]
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            path = self.path.with_name(f"{self.stem}-{serial:05d}-{stamp}{self.suffix}")
        self._out = AppendOnlyFile(path)
        self._out.open(checkpoint)
        self.serial = serial
        if self._out.size == 0:
            self._out.append(self._warcinfo(path.name))

    async def open(self, checkpoint: int | None = None) -> None:
        await asyncio.to_thread(self._open, checkpoint)

    def _open(self, checkpoint: int | None) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot open output {self.path}: {exc.strerror or exc}") from None
        latest = self._latest_serial()
        if checkpoint is None:  # a new job: never write into files another job left
            self._open_file(0 if latest is None else latest + 1, None)
            return
        serial, length = checkpoint >> SERIAL_SHIFT, checkpoint & ((1 << SERIAL_SHIFT) - 1)
        for later in range(serial + 1, (latest or 0) + 1):
            for path in self._files(later):
                log.info("%s: removing %s, which no commit covers; its URLs are fetched again",
                         self.path, path)
                path.unlink()
        self._open_file(serial, length)

    def checkpoint(self) -> int | None:
        size = self._out.size if self._out is not None else 0
        return self.serial << SERIAL_SHIFT | size

    async def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    # -- records ----------------------------------------------------------------------------

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        """The rows themselves go to the other outputs; `archive` wrote the exchanges."""

    async def archive(self, rows: list[Row], exchanges: list[Exchange | None]) -> None:
        """Encode, digest, compress and append the batch in a worker thread: zlib and hashlib
        let go of the GIL, so that work runs on another core beside the event loop."""
        if any(exchange is not None for exchange in exchanges):
            await asyncio.to_thread(self._append_batch, rows, exchanges)

    def _append_batch(self, rows: list[Row], exchanges: list[Exchange | None]) -> None:
        assert self._out is not None
        data = self._encode(rows, exchanges)
        if self._out.size >= self.max_bytes:
            self._out.close()
            self._open_file(self.serial + 1, None)
        self._out.append(data)

    def _write(self, buffer: io.BytesIO, writer: WARCWriter, record: Any) -> None:
        """One record; with gzip, one gzip member of its own (as the WARC spec asks), at level
        GZIP_LEVEL (warcio's own writer uses 9: a third more CPU for 1% smaller files)."""
        if not self.gzip:
            writer.write_record(record)
            return
        plain = io.BytesIO()
        WARCWriter(plain, gzip=False, warc_version="1.1").write_record(record)
        member = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        buffer.write(member.compress(plain.getbuffer()) + member.flush())

    def _writer(self, buffer: io.BytesIO) -> WARCWriter:
        return WARCWriter(buffer, gzip=False, warc_version="1.1")

    def _warcinfo(self, filename: str) -> bytes:
        buffer = io.BytesIO()
        writer = self._writer(buffer)
        info = {"software": f"crawler/{__version__} (warcio)", "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                              "warc-format/warc-1.1/", **self.info}
        self._write(buffer, writer, writer.create_warcinfo_record(filename, info))
        return buffer.getvalue()

    def _encode(self, rows: list[Row], exchanges: list[Exchange | None]) -> bytes:
        buffer = io.BytesIO()
        writer = self._writer(buffer)
        for row, exchange in zip(rows, exchanges, strict=True):
            if exchange is None:
                continue
            for record in self._records(writer, row, exchange):
                self._write(buffer, writer, record)
        return buffer.getvalue()

    def _records(self, writer: WARCWriter, row: Row, exchange: Exchange) -> list[Any]:
        url, date = target_of(row["url"]), warc_date(row["fetched_at"])  # no POST's marker
        http = StatusAndHeaders(exchange.status_line, stored_headers(
            exchange.headers, len(exchange.body)), protocol=exchange.version)
        common = {"WARC-Date": date}
        if row.get("ip"):
            common["WARC-IP-Address"] = row["ip"]
        if exchange.status == 304:
            main = writer.create_warc_record(url, "revisit", http_headers=http,
                                             warc_headers_dict={**common,
                                                                "WARC-Profile": NOT_MODIFIED,
                                                                "WARC-Refers-To-Target-URI": url})
        elif row.get("change") == "unchanged":
            main = writer.create_warc_record(url, "revisit", http_headers=http,
                                             warc_headers_dict={
                                                 **common, "WARC-Profile": IDENTICAL,
                                                 "WARC-Refers-To-Target-URI": url,
                                                 "WARC-Payload-Digest": payload_digest(
                                                     exchange.body)})
        else:
            headers = {**common, **({"WARC-Truncated": "length"} if row.get("truncated")
                                    else {})}
            main = writer.create_warc_record(url, "response", payload=io.BytesIO(exchange.body),
                                             length=len(exchange.body), http_headers=http,
                                             warc_headers_dict=headers)
        request_http = StatusAndHeaders(exchange.request_line,
                                        redacted(exchange.request_headers),
                                        is_http_request=True)
        sent = exchange.request_body
        request = writer.create_warc_record(url, "request", http_headers=request_http,
                                            payload=io.BytesIO(sent), length=len(sent),
                                            warc_headers_dict={
                                                "WARC-Date": warc_date(exchange.started_at
                                                                       or row["fetched_at"]),
                                                "WARC-Concurrent-To": main.rec_headers.get_header(
                                                    "WARC-Record-ID")})
        records = [main, request]
        if exchange.rendered is not None:  # --render: the DOM the record was taken from
            records.append(writer.create_warc_record(
                url, "conversion", payload=io.BytesIO(exchange.rendered),
                length=len(exchange.rendered), warc_content_type="text/html; charset=utf-8",
                warc_headers_dict={**common, "WARC-Refers-To": main.rec_headers.get_header(
                    "WARC-Record-ID")}))
        return records
