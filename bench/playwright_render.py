"""A plain Playwright script that renders a list of URLs with N tabs, for bench/render.py: one
browser (Debian's Chromium, by its path), one context, N pages, each URL opened with
`goto(wait_until="networkidle")` and its DOM and links read; images, fonts and media blocked,
as our crawler blocks them. Run with bench/.venv-playwright/bin/python.

    python bench/playwright_render.py URLS_FILE TABS OUT_JSONL
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from playwright.async_api import Route, async_playwright

BLOCKED = {"image", "media", "font"}


async def main(urls_file: str, tabs: int, out_path: str) -> None:
    urls = [line.strip() for line in Path(urls_file).read_text().splitlines()  # noqa: ASYNC240
            if line.strip()]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=["--no-sandbox"])
        context = await browser.new_context()

        async def block(route: Route) -> None:
            if route.request.resource_type in BLOCKED:
                await route.abort()
            else:
                await route.continue_()

        await context.route("**/*", block)
        with Path(out_path).open("w") as out:  # noqa: ASYNC230 (a bench script)
            async def worker() -> None:
                page = await context.new_page()
                while not queue.empty():
                    url = queue.get_nowait()
                    try:
                        response = await page.goto(url, wait_until="networkidle",
                                                   timeout=20_000)
                        html = await page.content()
                        links = await page.eval_on_selector_all(
                            "a[href]", "els => els.map(e => e.href)")
                        out.write(json.dumps({
                            "url": url, "status": response.status if response else None,
                            "bytes": len(html), "links": len(links)}) + "\n")
                    except Exception as exc:  # a failed page is a line too, as in ours
                        out.write(json.dumps({"url": url, "error": str(exc)[:200]}) + "\n")
                await page.close()

            await asyncio.gather(*(worker() for _ in range(tabs)))
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
