"""The worst of the web, served on loopback: compression bombs, drips, giant headers, redirect
loops and chains, redirects and links into a denied address, infinite calendars and paths,
session ids, truncated bodies, lying charsets and 10 MB of nested tags.

Every hostile endpoint is bounded in time and size on the server side too.
"""

from __future__ import annotations

import asyncio
import uuid
import zlib

import brotli
from aiohttp import web
from backports import zstd

from tests.site import Site, html

BOMB_MIB = 256


def _zeros_compressed(compress, finish) -> bytes:
    chunk = bytes(1 << 20)
    return b"".join(compress(chunk) for _ in range(BOMB_MIB)) + finish()


def gzip_bomb() -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    return _zeros_compressed(packer.compress, packer.flush)


def brotli_bomb() -> bytes:
    packer = brotli.Compressor(quality=5)
    return _zeros_compressed(packer.process, packer.finish)


def zstd_bomb() -> bytes:
    packer = zstd.ZstdCompressor()
    return _zeros_compressed(packer.compress, packer.flush)


async def drip(request: web.Request) -> web.StreamResponse:
    """One byte every half second, for at most a minute."""
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    try:
        for _ in range(120):
            await response.write(b"<")
            await asyncio.sleep(0.5)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def slow_header(_: web.Request) -> web.Response:
    await asyncio.sleep(8)
    return web.Response(text="late", content_type="text/html")


async def truncated(request: web.Request) -> web.StreamResponse:
    """Promises 100,000 bytes, sends 100, hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "text/html",
                                           "Content-Length": "100000"})
    await response.prepare(request)
    await response.write(b"<a href='/never'>" + b"x" * 83)
    assert request.transport is not None
    request.transport.close()
    return response


async def calendar(request: web.Request) -> web.Response:
    month = int(request.query.get("month", "0"))
    return web.Response(text=html(f"month {month}", f"/calendar?month={month + 1}",
                                  f"/calendar?month={month - 1}"), content_type="text/html")


async def endless_path(request: web.Request) -> web.Response:
    return web.Response(text=html(request.path, "a/", "b/"), content_type="text/html")


async def session_page(_: web.Request) -> web.Response:
    """Every visit hands out fresh session ids: in a known parameter and in a custom one."""
    token = uuid.uuid4().hex
    return web.Response(text=html("session", f"/session?sessionid={token}",
                                  f"/search?s={token}"), content_type="text/html")


def build(site: Site, denied: Site) -> list[str]:
    """Install the hostile endpoints on `site`; links and redirects point into `denied`.
    Returns the paths the index links to."""
    port = denied.base.rsplit(":", 1)[1]
    for path, body, encoding in (("/gzip-bomb", gzip_bomb(), "gzip"),
                                 ("/brotli-bomb", brotli_bomb(), "br"),
                                 ("/zstd-bomb", zstd_bomb(), "zstd")):
        site.add(path, body, headers={"Content-Encoding": encoding})
    site.route("/drip", drip)
    site.route("/slow-header", slow_header)
    site.add("/big-header", b"<p>x", headers={"X-Big": "a" * 20_000})
    site.add("/many-headers", b"<p>x", headers={f"X-H-{i}": str(i) for i in range(300)})
    site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")
    for hop in range(30):
        site.redirect(f"/chain/{hop}", f"/chain/{hop + 1}")
    site.page("/chain/30")
    site.redirect("/to-denied", denied.url("/by-redirect"))
    site.redirect("/to-denied-hex", f"http://0x7f.0.0.2:{port}/by-hex-redirect")
    site.route("/calendar", calendar)
    site.route("/a/", endless_path)
    for depth in range(2, 40):
        site.route("/a" * depth + "/", endless_path)
    site.route("/session", session_page)
    site.route("/search", session_page)
    site.route("/truncated", truncated)
    site.add("/lying-charset", "<title>Café ÿ</title><a href='/lying-target'>é</a>"
             .encode("latin-1") + b"\xff\xfe\x80", content_type="text/html; charset=utf-8")
    site.page("/lying-target")
    site.add("/nested", b"<a href='/after-nested'>x</a>" + b"<div>" * 2_000_000)
    site.page("/after-nested")
    links = ["/gzip-bomb", "/brotli-bomb", "/zstd-bomb", "/drip", "/slow-header", "/big-header",
             "/many-headers", "/loop-a", "/chain/0", "/to-denied", "/to-denied-hex",
             "/calendar?month=1", "/a/", "/session", "/truncated", "/lying-charset", "/nested"]
    site.page("/", *links, denied.url("/by-link"), f"http://2130706434:{port}/by-integer-link")
    return links
