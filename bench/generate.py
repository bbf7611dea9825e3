"""A deterministic benchmark site: N pages of 20-60 KB over several hosts, written as files.

Every page links to the next one on its host (so all are reachable from the host's index) and
to ~40-80 others: mostly on its own host, some on the other bench hosts, a few external ones
(out of scope, never fetched). The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

WORDS = ("crawler", "frontier", "politeness", "robots", "request", "response", "header", "body",
         "parse", "link", "anchor", "document", "section", "paragraph", "index", "module",
         "function", "class", "method", "value", "setting", "option", "server", "client",
         "session", "socket", "stream", "buffer", "event", "loop", "process", "thread", "memory")


def page_html(rng: random.Random, host: int, n: int, hosts: list[str], pages: int,
              sizes: tuple[int, int] = (20_000, 60_000)) -> str:
    size = rng.randint(*sizes)
    own = [f"/p/{(n + 1) % pages}.html"] + [f"/p/{rng.randrange(pages)}.html"
                                           for _ in range(rng.randint(35, 70))]
    other = [f"http://{rng.choice(hosts)}/p/{rng.randrange(pages)}.html" for _ in range(5)]
    external = [f"https://example.org/ref/{rng.randrange(10_000)}" for _ in range(3)]
    links = own + other + external
    rng.shuffle(links)
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>Host {host} page {n}"
            f"</title><link rel='stylesheet' href='/style.css'></head><body><nav>")
    nav = "".join(f"<a href='{href}'>{rng.choice(WORDS)} {i}</a> " for i, href in
                  enumerate(links))
    parts = [head, nav, "</nav><main>"]
    length = sum(map(len, parts))
    while length < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        block = f"<p>{sentence.capitalize()}. <em>{rng.choice(WORDS)}</em> {sentence}.</p>\n"
        parts.append(block)
        length += len(block)
    parts.append("</main></body></html>")
    return "".join(parts)


def generate(root: Path, hosts: list[str], pages_per_host: int, seed: int = 42,
             sizes: tuple[int, int] = (20_000, 60_000)) -> int:
    """Write the site under root/<host>/; returns the number of HTML pages."""
    marker = root / f".done-{len(hosts)}x{pages_per_host}-{seed}-{sizes[0]}-{sizes[1]}"
    if marker.exists():
        return len(hosts) * pages_per_host
    for old in root.glob(".done-*"):  # another size was generated here: start clean, so no
        old.unlink()                   # page of it survives to link into the wrong range
    for host in hosts:
        shutil.rmtree(root / host, ignore_errors=True)
    for index, host in enumerate(hosts):
        rng = random.Random(f"{seed}-{index}")
        base = root / host / "p"
        base.mkdir(parents=True, exist_ok=True)
        for n in range(pages_per_host):
            (base / f"{n}.html").write_text(page_html(rng, index, n, hosts, pages_per_host,
                                                      sizes))
        (root / host / "index.html").write_text(
            "<html><head><title>index</title></head><body><a href='/p/0.html'>start</a>"
            "</body></html>")
        (root / host / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    marker.touch()
    return len(hosts) * pages_per_host


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--pages-per-host", type=int, default=2500)
    args = parser.parse_args()
    names = [f"127.0.0.{11 + i}:8090" for i in range(args.hosts)]
    print(generate(args.root, names, args.pages_per_host), "pages")
