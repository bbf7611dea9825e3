"""Fallback static server for the benchmarks (when nginx is missing): one aiohttp site per
HOST:PORT=FOLDER argument."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


async def main(specs: list[str]) -> None:
    for spec in specs:
        address, folder = spec.split("=", 1)
        host, port = address.rsplit(":", 1)
        app = web.Application()
        app.router.add_static("/", Path(folder), show_index=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, int(port)).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
