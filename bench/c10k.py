"""5,000 fetches in flight against slow local servers (every response takes 1 s) on 50
127.0.0.x hosts: our crawler (one event loop) against a thread-per-request baseline (requests +
ThreadPoolExecutor of the same size). Prints pages/s and peak RSS side by side.

    .venv/bin/python bench/c10k.py [--inflight 5000] [--pages-per-host 600]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from measure import run_measured  # noqa: E402
from servers import wait_for_port  # noqa: E402

PORT = 8092


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inflight", type=int, default=5000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--pages-per-host", type=int, default=600)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hosts = [f"127.0.0.{31 + i}" for i in range(args.hosts)]
    server_log = Path(tempfile.gettempdir()) / "bench-c10k-server.log"
    server = subprocess.Popen([sys.executable, str(BENCH / "slow_server.py"), str(PORT),
                               str(args.pages_per_host), *hosts],
                              stdout=subprocess.DEVNULL, stderr=server_log.open("w"))
    work = Path(tempfile.mkdtemp(prefix="bench-c10k-"))
    rows = []
    try:
        for host in hosts:
            wait_for_port(host, PORT, "slow server")
        per_host = max(1, args.inflight // args.hosts)
        (work / "seeds.txt").write_text("".join(f"http://{h}:{PORT}/p/0\n" for h in hosts))
        ours = run_measured(
            [str(ROOT / ".venv/bin/python"), "-m", "crawler", "seeds.txt", "-o", "out.jsonl",
             "--concurrency", str(args.inflight), "--per-host", str(per_host), "--quiet",
             "--timeout", "60", "--job-dir", "job"], work, log=work / "ours.log")
        pages = sum(1 for line in (work / "out.jsonl").open() if '"status":200' in line)
        rows.append(("crawler (ours), one event loop", pages, ours))
        print(f"ours: {pages} pages in {ours.wall:.1f}s", file=sys.stderr)
        (work / "urls.txt").write_text("".join(f"http://{h}:{PORT}/p/{n}\n" for h in hosts
                                               for n in range(args.pages_per_host)))
        threads = run_measured(
            [str(ROOT / ".venv/bin/python"), str(BENCH / "threads_baseline.py"),
             str(args.inflight), "urls.txt"], work, log=work / "threads.log")
        tail = (work / "threads.log").read_text().split()
        fetched = int(tail[-1]) if tail and tail[-1].isdigit() else 0
        rows.append((f"requests + ThreadPoolExecutor({args.inflight})", fetched, threads))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.hosts * args.pages_per_host} pages on {args.hosts} hosts, each response "
          f"delayed 1 s, {args.inflight} fetches in flight\n")
    print("| client | pages | seconds | pages/s | CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name, pages, usage in rows:
        print(f"| {name} | {pages} | {usage.wall:.1f} | {pages / usage.wall:.0f} | "
              f"{usage.cpu:.1f} | {usage.peak_rss / 2**20:.0f} |")


if __name__ == "__main__":
    main()
