"""What the service's API costs a running crawl: the same job crawled through `python -m
crawler serve` with no API traffic, then while a client asks for its status 200 times a second
(GET /jobs/{id}, with /metrics and /jobs mixed in), alternating, on real pages served by nginx.

    .venv/bin/python bench/service.py [--corpus jdk-docs|python-docs|generated] [--rounds 2]
                                      [--rps 200]

The goal (issue 17): the status traffic lowers the crawl's pages/s by under 10%. The client is
curl, paced with --rate, on the same machine: its CPU comes out of the crawl's too, so a
control arm sends the same requests to nginx instead, and the service's own cost is the
service arm against the control.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from run import corpus_for, rounds_parser, warm_page_cache  # noqa: E402
from servers import free_port, serve_static, wait_for_port  # noqa: E402


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def start_poller(urls: list[str], rps: int, seconds: int, folder: Path
                 ) -> subprocess.Popen[bytes]:
    """curl asking for `urls` in turn, paced at `rps` requests a second over a kept-alive
    connection; each answer's status goes to folder/codes. (curl's --rate N/s served about
    0.85 N here, so it is asked for 7/6 of the rate; the table reports the rate served.)"""
    config = folder / "urls.curlrc"
    config.write_text("".join(f'url = "{urls[n % len(urls)]}"\noutput = "/dev/null"\n'
                              for n in range(rps * seconds)))
    with (folder / "codes").open("wb") as codes:
        return subprocess.Popen(["stdbuf", "-oL", "curl", "-s", "--rate", f"{rps * 7 // 6}/s", "-w",
                                 "%{http_code}\\n", "--config", str(config)], stdout=codes,
                                stderr=subprocess.DEVNULL)


def crawl_once(base: str, seeds: list[str], concurrency: int, rps: int, client: str
               ) -> tuple[float, int, float]:
    """(pages/s of the crawl's session, pages, requests/s achieved) of one job, while curl
    sends `rps` requests a second: to the service (`client` "service": nine in ten
    GET /jobs/{id}, the rest alternate /metrics and GET /jobs), or to nginx (`client`
    "nginx": the seed page, a control that costs the machine the same client), or none."""
    job_id = call(base, "POST", "/jobs", {"seeds": seeds, "settings": {
        "concurrency": concurrency, "per_host": concurrency}})["id"]
    folder = Path(tempfile.mkdtemp(prefix="bench-service-"))
    paths = [f"/jobs/{job_id}"] * 9 + ["/metrics"] + [f"/jobs/{job_id}"] * 9 + ["/jobs"]
    urls = [base + path for path in paths] if client == "service" else seeds
    poller = start_poller(urls, rps, 600, folder) if client != "none" else None
    started = time.monotonic()
    while True:
        job = call(base, "GET", f"/jobs/{job_id}")
        if job["state"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    seconds = time.monotonic() - started
    achieved = 0.0
    if poller is not None:
        poller.terminate()
        poller.wait(30)
        codes = (folder / "codes").read_text().split()
        assert set(codes) <= {"200"}, f"status requests failed: {set(codes)}"
        achieved = len(codes) / seconds
    shutil.rmtree(folder, ignore_errors=True)
    assert job["state"] == "completed", job
    report = job["report"]
    return report["session"]["pages_per_second"], report["records"], achieved


def main() -> None:
    parser = rounds_parser(__doc__)
    parser.add_argument("--rps", type=int, default=200)
    args = parser.parse_args()
    corpus, about = corpus_for(args.corpus, args)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    arms = {"none": "no client", "nginx": f"{args.rps} requests/s to nginx (control)",
            "service": f"{args.rps} status requests/s to the service"}
    results: dict[str, list[float]] = {arm: [] for arm in arms}
    served: dict[str, list[float]] = {arm: [] for arm in arms}
    with serve_static(corpus.sites), tempfile.TemporaryDirectory() as data:
        for root in corpus.sites.values():
            warm_page_cache(root)
        service = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "crawler", "serve", "--listen",
             f"127.0.0.1:{port}", "--data-dir", data, "--max-jobs", "1",
             "--allow-network", "127.0.0.0/8"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port("127.0.0.1", port, "service", proc=service)
            for round_number in range(args.rounds):
                for arm in arms:
                    rate, pages, got = crawl_once(base, corpus.seeds, args.concurrency,
                                                  args.rps, arm)
                    results[arm].append(rate)
                    served[arm].append(got)
                    print(f"round {round_number + 1}, {arms[arm]}: {pages} pages at "
                          f"{rate:.1f} pages/s ({got:.0f} requests/s served)", file=sys.stderr)
        finally:
            service.terminate()
            service.wait(30)
    quiet = statistics.median(results["none"])
    print(f"\n{about}, through the service, concurrency {args.concurrency}, "
          f"{args.rounds} rounds, the arms alternating\n")
    print("| client during the crawl | requests/s served | pages/s (median) | runs | "
          "vs no client |")
    print("|---|---|---|---|---|")
    for arm, label in arms.items():
        median = statistics.median(results[arm])
        print(f"| {label} | {statistics.mean(served[arm]):.0f} | {median:.1f} | "
              f"{', '.join(f'{r:.1f}' for r in results[arm])} | {median / quiet:.2f} |")
    control = statistics.median(results["nginx"])
    print(f"\nThe service's own cost (service arm against the control): "
          f"{statistics.median(results['service']) / control:.2f}")


if __name__ == "__main__":
    main()
