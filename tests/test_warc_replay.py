"""A crawl written to WARC replays: pywb, the web archive replay server, serves every page of
it back (its raw `id_` mode) byte for byte as the site served it.

pywb pins an old redis client, so it lives in a venv of its own (tests/.venv-pywb, made once;
its pip stamp keeps later runs from asking the package index again)."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.real_servers import free_port, require
from tests.site import Site
from tests.test_warc import crawl, warc_files

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]
PYWB = "pywb==2.10.0"
VENV = Path(__file__).parent / ".venv-pywb"


def pywb_venv() -> Path:
    """tests/.venv-pywb with pywb installed (made on first use)."""
    stamp = VENV / "stamp"
    if not (stamp.exists() and stamp.read_text() == PYWB):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True,
                       timeout=120)
        done = subprocess.run([str(VENV / "bin/pip"), "install", "--quiet",
                               "--disable-pip-version-check", PYWB], capture_output=True,
                              text=True, timeout=600)
        require(done.returncode == 0, f"pywb (pip install {PYWB}: {done.stderr[-500:]})")
        stamp.write_text(PYWB)
    return VENV / "bin"


def start_wayback(bin_dir: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(bin_dir / "wayback"), "--port", str(port), "--bind",
                             "127.0.0.1"], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def test_pywb_replays_every_page_as_served(site: Site, tmp_path: Path) -> None:
    pages = {"/": b"<title>Home</title><a href='/a'>a</a><a href='/z'>z</a>",
             "/a": b"<title>A</title><p>" + "caf\u00e9 ".encode() * 50 + b"</p>"}
    for path, body in pages.items():
        site.add(path, body)
    zipped = b"<title>Z</title>" + b"<p>compressed</p>" * 300
    site.add("/z", gzip.compress(zipped), headers={"Content-Encoding": "gzip"})
    pages["/z"] = zipped
    await crawl(tmp_path, [site.url("/")])
    bin_dir = await asyncio.to_thread(pywb_venv)
    replay = tmp_path / "replay"
    replay.mkdir()
    for command in (["init", "coll"], ["add", "coll", *map(str, warc_files(tmp_path))]):
        done = await asyncio.to_thread(subprocess.run, [str(bin_dir / "wb-manager"), *command],
                                       cwd=replay, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    port = free_port()
    server = start_wayback(bin_dir, replay, port)
    try:
        async with aiohttp.ClientSession(auto_decompress=True) as session:
            deadline = time.monotonic() + 30
            for path, body in pages.items():
                url = f"http://127.0.0.1:{port}/coll/2026id_/{site.url(path)}"
                for _ in range(300):
                    try:
                        async with session.get(url) as resp:
                            status, served = resp.status, await resp.read()
                        break
                    except aiohttp.ClientConnectionError:
                        assert time.monotonic() < deadline, "pywb did not start"
                        await asyncio.sleep(0.1)
                assert status == 200 and served == body, path
    finally:
        server.terminate()
        server.wait(10)
