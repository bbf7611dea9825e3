"""Main-content quality and cost, end to end through the crawler, on two public benchmarks:
WCXB's development split (1,497 pages in 7 page types, CC-BY-4.0; scored by word-level F1 as
its evaluate.py does) and Zyte's article-extraction benchmark (181 pages, MIT; scored by its
evaluate.py's token F1). The pages are served by nginx on loopback and crawled as seeds with
`--content text`, once with each `--content-method` (careful, fast); each record's `content` is
the prediction. Beside them, on the same pages: trafilatura's defaults
(`trafilatura.extract(html)`, in process) and rs-trafilatura, the published leader on WCXB, in
a Python 3.12 venv of its own (bench/content_peer.py), without and with each page's original
URL. CPU: main-content extraction per page (median and mean, in process), and our crawl's
whole CPU per page.

    .venv/bin/python -m bench.content [--benchmarks ../shared/benchmarks/content] [--only wcxb]

Measure with it; never tune on single pages (a held-out split checks the method).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import content_peer  # noqa: E402
from measure import run_measured  # noqa: E402
from servers import serve_static  # noqa: E402

Pages = dict[str, str]  # page id -> HTML


def scorer(path: Path, name: str) -> ModuleType:
    """A benchmark's own evaluate.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_pages(folder: Path) -> Pages:
    return {path.name.removesuffix(".html.gz"): gzip.decompress(path.read_bytes()).decode(
        "utf-8", "replace") for path in sorted(folder.glob("*.html.gz"))}


def crawl(pages: Pages, port: int, method: str) -> tuple[Pages, float]:
    """Each page's `content` from a crawl of them all as seeds with `--content-method
    method`, and the crawl's CPU seconds."""
    work = Path(tempfile.mkdtemp(prefix="bench-content-"))
    try:
        work.chmod(0o755)  # nginx's workers read the pages as another user
        site = work / "site"
        site.mkdir()
        for page_id, html in pages.items():
            (site / f"{page_id}.html").write_text(html, encoding="utf-8")
        base = f"http://127.0.0.1:{port}"
        (work / "seeds.txt").write_text("".join(f"{base}/{i}.html\n" for i in pages))
        out = work / "out.jsonl"
        with serve_static({("127.0.0.1", port): site}):
            usage = run_measured(
                [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", str(out),
                 "--job-dir", str(work / "job"), "--content", "text",
                 "--content-method", method,
                 "--max-pages", str(len(pages)),  # the pages, not what they link to
                 "--concurrency", "16", "--per-host", "16", "--delay", "0",
                 "--parse-mode", "process", "--quiet"], work, log=work / "crawl.log")
        found: Pages = {}
        for line in out.open():
            record = json.loads(line)
            page_id = record["url"].rsplit("/", 1)[-1].removesuffix(".html")
            found[page_id] = record.get("content") or ""
        return found, usage.cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)


def in_process(pages: Pages, extract: Callable[[str], str | None]) -> tuple[Pages, list[float]]:
    """Each page's text by `extract`, and its CPU seconds per page."""
    found: Pages = {}
    times: list[float] = []
    for page_id, html in pages.items():
        start = time.process_time()
        found[page_id] = extract(html) or ""
        times.append(time.process_time() - start)
    return found, times


def wcxb_scores(evaluate: ModuleType, predictions: Pages) -> dict[str, float]:
    truth = evaluate.load_ground_truth("dev")
    by_type: dict[str, list[float]] = defaultdict(list)
    for page_id, gt in truth.items():
        f1 = evaluate.word_f1(predictions.get(page_id, ""), gt["main_content"])[2]
        by_type[gt["page_type"]].append(f1)
        by_type["overall"].append(f1)
    return {kind: statistics.mean(values) for kind, values in by_type.items()}


def zyte_scores(evaluate: ModuleType, truth_path: Path, predictions: Pages) -> dict[str, float]:
    truth = json.loads(truth_path.read_text())
    prediction = {key: {"articleBody": predictions.get(key, "")} for key in truth}
    metrics = evaluate.evaluate(truth, prediction, n_bootstrap=10)
    return {"overall": metrics["f1"]}


def row(name: str, scores: dict[str, float], kinds: list[str], cpu: str) -> str:
    cells = " | ".join(f"{scores.get(kind, 0):.3f}" for kind in kinds)
    return f"| {name} | {cells} | {cpu} |"


def cpu_cell(times: list[float]) -> str:
    """Median and mean CPU milliseconds a page."""
    return f"{1000 * statistics.median(times):.1f} / {1000 * statistics.mean(times):.1f}"


def peer_rows(pages: Pages, urls: dict[str, str], score: Callable[[Pages], dict[str, float]],
              kinds: list[str]) -> list[str]:
    """rs-trafilatura's rows (without and with the pages' URLs), or a line saying why not."""
    why_not = content_peer.ready()
    if why_not is not None:
        return [f"| {content_peer.NAME}: not measured, {why_not} |"]
    found = content_peer.extract_all(pages, urls)
    return [row(f"{content_peer.NAME}, {kind}", score(texts), kinds, cpu_cell(times))
            for kind, (texts, times) in found.items()]


def run(name: str, pages: Pages, score: Callable[[Pages], dict[str, float]], port: int,
        urls: dict[str, str], kinds: list[str] | None = None) -> None:
    import trafilatura

    from crawler.extract.content import main_content
    rows = []
    kinds = kinds or ["overall"]
    for method in ("careful", "fast"):
        print(f"{name}: {len(pages)} pages, crawling with --content-method {method}...",
              file=sys.stderr)
        crawled, crawl_cpu = crawl(pages, port, method)
        _, times = in_process(pages, lambda html, m=method: main_content(html, "", "text", m))
        rows.append(row(f"ours, through the crawler (`--content text --content-method "
                        f"{method}`)", score(crawled), kinds,
                        f"{cpu_cell(times)} (the crawl: "
                        f"{1000 * crawl_cpu / len(pages):.1f} a page in all)"))
    default, default_times = in_process(pages, trafilatura.extract)
    default_scores = score(default)
    peers = peer_rows(pages, urls, score, kinds)
    print(f"\n{name}: F1 (the benchmark's scorer), CPU ms a page\n")
    print(f"| extractor | {' | '.join(kinds)} | content CPU ms median / mean |")
    print(f"|---|{'---|' * len(kinds)}---|")
    print("\n".join(rows))
    print(row("trafilatura.extract(html), its defaults", default_scores, kinds,
              cpu_cell(default_times)))
    print("\n".join(peers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", type=Path, default=ROOT.parent / "shared" /
                        "benchmarks" / "content")
    parser.add_argument("--only", choices=["wcxb", "zyte"], action="append")
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    wcxb, zyte = args.benchmarks / "wcxb", args.benchmarks / "zyte"
    content_peer.ready()  # the peer's venv is made (or found missing) before the crawls
    if "wcxb" in (args.only or ["wcxb"]):
        evaluate = scorer(wcxb / "evaluate.py", "wcxb_evaluate")
        kinds = ["overall", "article", "documentation", "service", "forum", "collection",
                 "listing", "product"]
        urls = {path.stem: json.loads(path.read_text()).get("url") or ""
                for path in (wcxb / "dev" / "ground-truth").glob("*.json")}
        run("WCXB dev", load_pages(wcxb / "dev" / "html"),
            lambda found: wcxb_scores(evaluate, found), args.port, urls, kinds)
    if "zyte" in (args.only or ["zyte"]):
        evaluate = scorer(zyte / "evaluate.py", "zyte_evaluate")
        truth = json.loads((zyte / "ground-truth.json").read_text())
        run("Zyte articles", load_pages(zyte / "html"),
            lambda found: zyte_scores(evaluate, zyte / "ground-truth.json", found), args.port,
            {key: page.get("url") or "" for key, page in truth.items()})


if __name__ == "__main__":
    main()
