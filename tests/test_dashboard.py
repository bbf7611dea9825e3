"""The service's dashboard in a real browser (headless Chromium): jobs listed with their
numbers, a job submitted through the form, a job's records in its drill-down, the chart drawn;
and a screenshot of it, checked to be a full, non-blank page."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from tests.browser import chromium
from tests.service_process import Service
from tests.site import Site

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]


def png_size_and_colours(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decoded scanlines) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    idat, offset = b"", 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            idat += data[offset + 8:offset + 8 + length]
        offset += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def keep_screenshot(shot: bytes, folder: Path) -> None:
    """Where a person can look at it: the test's directory, or $CRAWLER_SCREENSHOT_DIR."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dashboard.png").write_bytes(shot)


async def test_dashboard_lists_jobs_submits_one_and_drills_down(tmp_path: Path,
                                                                site: Site) -> None:
    site.page("/", "/a", "/b", "/missing", title="Home")
    site.page("/a", "/b", title="A")
    site.page("/b", title="B")
    service = await Service(tmp_path / "data").start()
    try:
        status, body = await service.request("POST", "/jobs", {"seeds": [site.url("/")],
                                                                "name": "the home page"})
        assert status == 201, body
        first = body["id"]
        await service.wait_for(first, "completed")
        async with chromium(tmp_path / "profile") as page:
            await page.send("Page.navigate", url=service.base + "/")
            await page.wait_for(f"!!document.querySelector('tr[data-job-id=\"{first}\"]')")
            row = await page.evaluate(
                f"[...document.querySelector('tr[data-job-id=\"{first}\"]').cells]"
                ".map(c => c.textContent)")
            assert row[:4] == ["the home page", first, "completed", "4"]
            assert row[5] == "0"  # errors: a 404 is an answer, not an error
            # submit a second job through the form
            await page.evaluate(
                f"document.getElementById('seeds').value = {site.url('/a')!r};"
                "document.getElementById('max_pages').value = '10';"
                "document.getElementById('submit-form').requestSubmit(); true")
            await page.wait_for("document.querySelectorAll('#jobs tbody tr').length === 2")
            _, jobs = await service.request("GET", "/jobs")
            second = next(j["id"] for j in jobs["jobs"] if j["id"] != first)
            assert jobs["jobs"][1]["seeds"] == [site.url("/a")]
            assert jobs["jobs"][1]["settings"]["max_pages"] == 10
            await page.wait_for(f"document.querySelector('tr[data-job-id=\"{second}\"]')"
                                f".cells[0].textContent === {site.url('/a')!r}")  # no name
            await service.wait_for(second, "completed")
            # drill down into the first job: its recent records
            await page.evaluate(
                f"document.querySelector('tr[data-job-id=\"{first}\"]').click(); true")
            await page.wait_for("document.querySelectorAll('#records li').length === 4")
            assert await page.evaluate("document.querySelector('#errors li').textContent") \
                == "none"
            records = await page.evaluate(
                "[...document.querySelectorAll('#records li')].map(li => li.textContent)")
            assert any(text.startswith("404 ") and "/missing" in text for text in records)
            assert await page.evaluate("document.getElementById('detail-state')"
                                       ".textContent") == "completed"
            assert await page.evaluate("document.getElementById('health').textContent"
                                       ".startsWith('ok')")
            assert await page.wait_for("document.querySelector('#jobs tbody tr "
                                       ".state.completed') !== null")
            shot = await page.screenshot()
        width, height, colours = png_size_and_colours(shot)
        assert (width, height) == (1280, 900)
        assert colours > 50, "the screenshot is (nearly) blank"
        keep_screenshot(shot, Path(os.environ.get("CRAWLER_SCREENSHOT_DIR", tmp_path)))
    finally:
        service.stop()
