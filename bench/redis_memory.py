"""What the shared frontier costs Redis per URL at scale: N URLs on H hosts go through the real
ADD script (RedisFrontier.add_links), and INFO memory is read with every URL queued, then with
the queues emptied, as at the end of a crawl (the seen-set and the per-host records stay).

    .venv/bin/python bench/redis_memory.py [--urls 1000000] [--hosts 1000]
        [--seen-buckets 16384] [--intset-entries 512] [--query]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench.servers import RedisServer  # noqa: E402
from crawler.cluster.job import ClusterJob, create_job, job_prefix  # noqa: E402
from crawler.cluster.redis_frontier import RedisFrontier  # noqa: E402
from crawler.settings import load_settings  # noqa: E402
from crawler.urls import fingerprint  # noqa: E402


async def measure(url: str, urls: int, hosts: int, buckets: int, query: bool) -> None:
    client = aioredis.from_url(url)
    before = (await client.info("memory"))["used_memory"]
    settings = load_settings({"seen_buckets": str(buckets)})
    job, _ = await create_job(client, ClusterJob.from_settings("mem", settings, []))
    frontier = RedisFrontier(client, job, concurrency=1, lease_seconds=60, outage_seconds=10)
    started = time.monotonic()
    chunk = 5000
    for start in range(0, urls, chunk):
        batch = [f"http://host{i % hosts}.example/p/{i // 10 if query else i}"
                 + (f"?x={i % 10}" if query else "")
                 for i in range(start, min(start + chunk, urls))]
        await frontier.add_links([(u, fingerprint(u)) for u in batch], 1, None)
    seconds = time.monotonic() - started
    queued = (await client.info("memory"))["used_memory"] - before
    async for key in client.scan_iter(job_prefix("mem") + ":q:*", count=1000):
        await client.delete(key)
    await client.delete(job_prefix("mem") + ":ready")
    done = (await client.info("memory"))["used_memory"] - before
    encodings: dict[str, int] = {}
    for n in range(0, buckets, max(1, buckets // 64)):
        encoding = (await client.object("encoding", f"{job_prefix('mem')}:seen:{n}")) or b"-"
        encodings[encoding.decode()] = encodings.get(encoding.decode(), 0) + 1
    await client.aclose()
    kind = "?x=0..9 on each of a tenth as many paths" if query else "no query"
    print(f"{urls} URLs ({kind}) on {hosts} hosts, {buckets} seen buckets: added in "
          f"{seconds:.1f}s "
          f"({urls / seconds:,.0f} URLs/s through the ADD script, one client)")
    print(f"  all queued: {queued / 2**20:.1f} MiB, {queued / urls:.1f} bytes per URL")
    print(f"  queues emptied (seen-set + host records): {done / 2**20:.1f} MiB, "
          f"{done / urls:.1f} bytes per URL")
    print(f"  sampled bucket encodings: {encodings}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--seen-buckets", type=int, default=16384)
    parser.add_argument("--intset-entries", type=int, default=512)
    parser.add_argument("--query", action="store_true",
                        help="URLs with a query: ten per path (the query-variant counters)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-memory-"))
    server = RedisServer(folder, "everysec",
                         ("--set-max-intset-entries", str(args.intset_entries))).start()
    try:
        asyncio.run(measure(server.url, args.urls, args.hosts, args.seen_buckets,
                            args.query))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
