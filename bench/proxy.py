"""What a proxy costs: our crawler and Scrapy crawl the same corpus (nginx on loopback) directly
and through tinyproxy (HTTP); ours through microsocks (SOCKS5) too. Each proxied run is reported
as a ratio to the same crawler's direct run, so the table shows the proxy path's own cost (the
address guard resolving each target, aiohttp's proxy support, aiohttp-socks) beside Scrapy's.

    .venv/bin/python bench/proxy.py [--corpus python-docs] [--concurrency 16] [--rounds 2]

Needs tinyproxy and microsocks (scripts/system-deps.sh) and bench/setup.sh's Scrapy venv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from proxy_servers import MicroSocks, ProxyServer, TinyProxy  # noqa: E402
from run import (  # noqa: E402
    REAL_CORPORA,
    Corpus,
    Result,
    add_site_arguments,
    corpus_for,
    run_ours,
    run_scrapy,
    warm_page_cache,
)
from servers import serve_static  # noqa: E402


def one_run(name: str, corpus: Corpus, concurrency: int, proxy: ProxyServer | None) -> Result:
    """One crawl of `corpus` by `name` (ours or scrapy), through `proxy` or direct."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-proxy-{name}-"))
    for root in corpus.sites.values():
        warm_page_cache(root)
    saved = {key: os.environ.pop(key, None) for key in ("http_proxy", "HTTP_PROXY", "no_proxy",
                                                        "NO_PROXY")}
    try:
        if name == "ours":
            extra = ["--proxy", proxy.url] if proxy else []
            result = run_ours(corpus.seeds, work, concurrency, extra, corpus)
        else:
            if proxy is not None:  # Scrapy's HttpProxyMiddleware reads it
                os.environ["http_proxy"] = proxy.url
            result = run_scrapy(corpus.seeds, work, concurrency, corpus)
        route = f"via {proxy.binary}" if proxy else "direct"
        result.name = f"{result.name}, {route}"
        return result
    finally:
        os.environ.pop("http_proxy", None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_arguments(parser)
    parser.add_argument("--corpus", choices=["generated", *REAL_CORPORA], default="python-docs")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    corpus, about = corpus_for(args.corpus, args)
    proxy_dir = Path(tempfile.mkdtemp(prefix="bench-proxies-"))
    http = TinyProxy(proxy_dir, "127.0.0.4").start()
    socks = MicroSocks(proxy_dir, "127.0.0.3").start()
    plan: list[tuple[str, ProxyServer | None]] = [
        ("ours", None), ("ours", http), ("ours", socks), ("scrapy", None), ("scrapy", http)]
    best: dict[str, Result] = {}
    try:
        with serve_static(corpus.sites):
            for _ in range(args.rounds):
                for name, proxy in plan:
                    result = one_run(name, corpus, args.concurrency, proxy)
                    print(f"{result.name}: {result.pages} pages in {result.usage.wall:.1f}s",
                          file=sys.stderr)
                    if result.name not in best or result.rate > best[result.name].rate:
                        best[result.name] = result
    finally:
        http.stop()
        socks.stop()
        shutil.rmtree(proxy_dir, ignore_errors=True)
    print(f"\n{about} (nginx, loopback), concurrency {args.concurrency}, best of "
          f"{args.rounds} rounds; {os.cpu_count()} CPUs\n")
    print("| crawler | route | pages | pages/s | CPU ms/page | vs its direct run |")
    print("|---|---|---|---|---|---|")
    for name, result in best.items():
        crawler, route = name.split(", ", 1)
        direct = best.get(f"{crawler}, direct")
        ratio = f"{result.rate / direct.rate:.2f}x" if direct and direct.rate else "-"
        cpu = 1000 * result.usage.cpu / result.pages if result.pages else 0
        print(f"| {crawler} | {route} | {result.pages} | {result.rate:.0f} | {cpu:.2f} | "
              f"{ratio} |")


if __name__ == "__main__":
    main()
