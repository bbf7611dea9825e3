"""Rendering, side by side: our crawler with --render always at 4, 8 and 16 tabs, a plain
Playwright script rendering the same pages with as many tabs, and our static crawl of the same
site (which sees none of the pages' links) for the ratio. The site is generated and served by
nginx on loopback: PAGES single-page-app pages, each loading a 150 KB script bundle and its
own JSON, from which the script builds the page's text and its links.

    bench/setup.sh && bench/.venv-playwright/bin/pip show playwright >/dev/null  # once
    .venv/bin/python -m bench.render [--pages 300] [--tabs 4 8 16] [--long 2000 --memory-mb 1024]

Prints pages/s, CPU seconds, peak RSS and PSS of each whole process tree (the browsers too),
and the ratios to Playwright at the same number of tabs. `--long N` also crawls a site of N
pages with 8 tabs and `--render-memory-mb` from `--memory-mb`, over --pages pages and over all
N, so the two peaks show whether memory stays bounded however long the crawl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from bench.measure import Usage, run_measured
from bench.servers import serve_static

ROOT = Path(__file__).resolve().parent.parent
PLAYWRIGHT = ROOT / "bench" / ".venv-playwright" / "bin" / "python"
PORT = 8097
APP = """<!doctype html><html><head><title>app {n}</title><script src="/vendor.js"></script>
</head><body><div id="app"></div><script>
fetch('/data/{n}.json').then(function (r) {{ return r.json(); }}).then(function (d) {{
  var app = document.getElementById('app');
  app.innerHTML = '<h1>' + d.title + '</h1><p>' + d.text + '</p>';
  d.links.forEach(function (href) {{
    var a = document.createElement('a'); a.href = href; a.textContent = href;
    app.appendChild(a); }});
}});</script></body></html>"""


def generate(root: Path, pages: int, port: int = PORT) -> list[str]:
    """Write the site, to be served on `port`; the URLs of its pages."""
    (root / "app").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "vendor.js").write_text("".join(
        f"function f{i}(x) {{ return x * {i} + {i % 7}; }}\n" for i in range(5000)))
    urls = []
    for n in range(pages):
        (root / "app" / f"{n}.html").write_text(APP.format(n=n))
        links = [f"/app/{(n * 7 + k) % pages}.html" for k in range(1, 6)]
        (root / "data" / f"{n}.json").write_text(json.dumps(
            {"title": f"Page {n}", "text": "word " * 300, "links": links}))
        urls.append(f"http://127.0.0.1:{port}/app/{n}.html")
    index = "".join(f'<a href="/app/{n}.html">{n}</a>' for n in range(0, pages, 50))
    (root / "index.html").write_text(f"<html><body>{index}</body></html>")
    return urls


def ours(work: Path, extra: list[str]) -> tuple[int, Usage]:
    out = work / "ours.jsonl"
    usage = run_measured(
        [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", str(out),
         "--job-dir", str(work / "job"), "--concurrency", "32", "--per-host", "32",
         "--quiet", *extra], work, env={**os.environ, "PYTHONPATH": str(ROOT)},
        log=work / "ours.log")
    pages = sum(1 for line in out.open() if "/app/" in json.loads(line)["url"]
                and json.loads(line)["status"] == 200) if out.exists() else 0
    return pages, usage


def playwright(work: Path, urls: list[str], tabs: int) -> tuple[int, Usage]:
    (work / "urls.txt").write_text("\n".join(urls) + "\n")
    out = work / "playwright.jsonl"
    usage = run_measured([str(PLAYWRIGHT), str(ROOT / "bench" / "playwright_render.py"),
                          "urls.txt", str(tabs), str(out)], work, log=work / "pw.log")
    pages = sum(1 for line in out.open() if json.loads(line).get("status") == 200) \
        if out.exists() else 0
    return pages, usage


def line(name: str, pages: int, usage: Usage) -> str:
    return (f"| {name} | {pages} | {pages / usage.wall:.1f} | {usage.cpu:.1f} | "
            f"{usage.peak_rss >> 20} | {usage.peak_pss >> 20} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--tabs", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--long", type=int, default=0, metavar="PAGES",
                        help="also crawl a site of PAGES pages with 8 tabs and "
                             "--render-memory-mb MEMORY_MB: is memory bounded by the cap?")
    parser.add_argument("--memory-mb", type=int, default=1024)
    args = parser.parse_args()
    site = Path(tempfile.mkdtemp(prefix="bench-render-site-"))
    site.chmod(0o755)  # nginx's workers read it as another user
    urls = generate(site, args.pages)
    sites = {("127.0.0.1", PORT): site}
    long_urls: list[str] = []
    if args.long:
        sites[("127.0.0.1", PORT + 1)] = site / "long"
        long_urls = generate(site / "long", args.long, PORT + 1)
        (site / "long").chmod(0o755)
    rows = ["| crawler | pages | pages/s | CPU s | peak RSS MiB | peak PSS MiB |",
            "|---|---|---|---|---|---|"]
    ratios = []
    with serve_static(sites):
        for tabs in args.tabs:
            results = {}
            for name in ("ours", "playwright"):
                work = Path(tempfile.mkdtemp(prefix=f"bench-render-{name}-"))
                (work / "seeds.txt").write_text("\n".join(urls) + "\n")
                if name == "ours":
                    results[name] = ours(work, ["--render", "always", "--render-tabs",
                                                str(tabs)])
                else:
                    results[name] = playwright(work, urls, tabs)
                rows.append(line(f"{name}, {tabs} tabs", *results[name]))
                shutil.rmtree(work, ignore_errors=True)
            (ours_pages, ours_usage), (pw_pages, pw_usage) = results["ours"], results["playwright"]
            ours_rate, pw_rate = ours_pages / ours_usage.wall, pw_pages / pw_usage.wall
            ratios.append(f"{tabs} tabs: pages/s {ours_rate:.1f} vs {pw_rate:.1f} "
                          f"({ours_rate / max(1e-9, pw_rate):.2f}x), peak PSS "
                          f"{ours_usage.peak_pss >> 20} vs {pw_usage.peak_pss >> 20} MiB")
        work = Path(tempfile.mkdtemp(prefix="bench-render-static-"))
        (work / "seeds.txt").write_text("\n".join(urls) + "\n")
        rows.append(line("ours, static (no rendering)", *ours(work, [])))
        shutil.rmtree(work, ignore_errors=True)
        for pages in sorted({min(args.pages, len(long_urls)), len(long_urls)} - {0}):
            work = Path(tempfile.mkdtemp(prefix="bench-render-long-"))
            (work / "seeds.txt").write_text("\n".join(long_urls) + "\n")
            rows.append(line(f"ours, 8 tabs, --render-memory-mb {args.memory_mb}", *ours(
                work, ["--render", "always", "--render-tabs", "8", "--max-pages", str(pages),
                       "--render-memory-mb", str(args.memory_mb)])))
            shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(site, ignore_errors=True)
    print("\n".join(rows))
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
