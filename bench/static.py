"""Fallback static server for the benchmark (when nginx is missing): aiohttp, one per host."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web


async def main(root: Path, port: int, hosts: list[str]) -> None:
    runners = []
    for host in hosts:
        app = web.Application()
        app.router.add_static("/", root / f"{host}:{port}", show_index=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
