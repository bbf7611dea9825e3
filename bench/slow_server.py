"""Slow sites for the concurrency benchmark: every response waits 1 second. One process serves
all hosts (127.0.0.31 ...) on one port; page n links to pages 20n+1 ... 20n+20 of its host."""

from __future__ import annotations

import asyncio
import resource
import sys

from aiohttp import web

DELAY = 1.0


def make_app(pages: int) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(DELAY)
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nAllow: /\n")
        n = int(request.match_info.get("n", "0"))
        links = "".join(f'<a href="/p/{k}">{k}</a>' for k in range(20 * n + 1, 20 * n + 21)
                        if k < pages)
        return web.Response(text=f"<html><title>{n}</title><body>{links}</body></html>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/robots.txt", page)
    app.router.add_get("/p/{n}", page)
    return app


async def main(port: int, pages: int, hosts: list[str]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runner = web.AppRunner(make_app(pages), access_log=None)
    await runner.setup()
    for host in hosts:
        await web.TCPSite(runner, host, port, backlog=4096).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
