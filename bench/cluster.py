"""Scale-out: pages/s with 1, 2 and 4 workers sharing a Redis frontier and writing to
PostgreSQL, against the same generated nginx site as bench/run.py, with the one-process crawler
(SQLite job state) beside them. Also what each page costs the shared servers: Redis CPU and
script calls, PostgreSQL commits and rows, which is what saturates first when machines are
added.

    bench/cluster.sh [--workers 1,2,4] [--pages-per-host 2500] [--hosts 4] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import redis

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate import generate  # noqa: E402
from measure import Usage, run_measured  # noqa: E402
from run import add_site_arguments, site_hosts, warm_page_cache  # noqa: E402
from servers import PostgresServer, RedisServer, serve_static  # noqa: E402

PYTHON = str(ROOT / ".venv/bin/python")


@dataclass
class Row:
    name: str
    pages: int
    usage: Usage
    redis_cpu: float = 0.0  # seconds of Redis CPU during the run
    redis_trips: int = 0  # script calls the workers made (their round trips, but a few)
    redis_commands: int = 0  # every command Redis ran, the ones inside scripts included
    redis_traffic: int = 0  # bytes between Redis and its clients, both ways
    redis_bytes_per_url: float = 0.0
    pg_commits: int = 0
    pg_rows: int = 0

    @property
    def rate(self) -> float:
        return self.pages / self.usage.wall if self.usage.wall else 0.0


def redis_counters(client: redis.Redis) -> tuple[float, int, int, int]:
    """(Redis CPU seconds, round trips clients made, every command Redis ran: the commands
    inside the Lua scripts count one each, as commandstats counts them; bytes in and out)."""
    cpu = client.info("cpu")
    net = client.info("stats")
    stats = client.info("commandstats")
    trips = sum(v["calls"] for k, v in stats.items()  # the frontier's calls are all scripts
                if k in ("cmdstat_evalsha", "cmdstat_eval"))
    commands = sum(v["calls"] for k, v in stats.items()
                   if k not in ("cmdstat_info", "cmdstat_config"))
    traffic = net["total_net_input_bytes"] + net["total_net_output_bytes"]
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"], trips, commands, traffic


async def pg_counters(dsn: str) -> tuple[int, int, int]:
    """(commits, rows inserted + updated, pages stored with 200) in the database of `dsn`."""
    db = await asyncpg.connect(dsn)
    try:
        stats = await db.fetchrow("SELECT xact_commit, tup_inserted + tup_updated AS rows "
                                  "FROM pg_stat_database WHERE datname = current_database()")
        try:
            pages = await db.fetchval("SELECT count(*) FROM pages WHERE status = 200 AND "
                                      "url LIKE '%/p/%'")
        except asyncpg.UndefinedTableError:
            pages = 0
        return stats["xact_commit"], stats["rows"], pages
    finally:
        await db.close()


async def fresh_database(server: PostgresServer, name: str) -> str:
    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.dsn(name)


def run_workers(count: int, seeds: Path, work: Path, redis_server: RedisServer,
                pg: PostgresServer, concurrency: int, extra: list[str]) -> Row:
    dsn = asyncio.run(fresh_database(pg, f"bench_{count}"))
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.config_resetstat()
    job = f"bench-{count}"
    common = ["--frontier", redis_server.url, "--job-name", job, "--quiet"]
    seed = run_measured([PYTHON, "-m", "crawler", "seed", str(seeds), *common,
                         "--per-host", str(concurrency)], work, log=work / f"seed-{count}.log")
    assert seed.returncode == 0, (work / f"seed-{count}.log").read_text()
    memory_before = client.info("memory")["used_memory"]
    cpu0, trips0, commands0, traffic0 = redis_counters(client)
    commits0, rows0, _ = asyncio.run(pg_counters(dsn))
    worker = shlex.join([PYTHON, "-m", "crawler", "worker", *common, "-o", dsn,
                         "--concurrency", str(concurrency), *extra])
    usage = run_measured(["bash", "-c", f"for i in $(seq {count}); do {worker} & done; wait"],
                         work, log=work / f"workers-{count}.log")
    cpu1, trips1, commands1, traffic1 = redis_counters(client)
    commits1, rows1, pages = asyncio.run(pg_counters(dsn))
    admitted = int(client.hget(f"crawler:{{{job}}}:stats", "admitted") or 1)
    per_url = (client.info("memory")["used_memory"] - memory_before) / admitted
    client.close()
    name = f"{count} worker{'s' if count > 1 else ''}"
    return Row(name, pages, usage, cpu1 - cpu0, trips1 - trips0, commands1 - commands0,
               traffic1 - traffic0, per_url, commits1 - commits0, rows1 - rows0)


def run_single(seeds: Path, work: Path, concurrency: int, extra: list[str]) -> Row:
    out = work / "single.jsonl"
    usage = run_measured([PYTHON, "-m", "crawler", str(seeds), "--job-dir", str(work / "job"),
                          "-o", str(out), "--concurrency", str(concurrency), "--per-host",
                          str(concurrency), "--quiet", *extra], work, log=work / "single.log")
    pages = sum(1 for line in out.open() if '"status":200' in line and "/p/" in line)
    return Row("one process, SQLite job state (no Redis, no PostgreSQL)", pages, usage)


def table(rows: list[Row]) -> str:
    base = next((r for r in rows if r.name == "1 worker"), None)
    lines = ["| setup | pages | seconds | pages/s | vs 1 worker | crawler CPU ms/page | "
             "Redis CPU ms/page | Redis round trips/page | Redis commands/page | "
             "Redis traffic bytes/page | Redis bytes/URL | PostgreSQL commits/s | "
             "PostgreSQL rows/page |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = max(r.pages, 1)
        versus = f"{r.rate / base.rate:.2f}x" if base and base.rate else "-"
        redis_cols = (f"{1000 * r.redis_cpu / n:.3f} | {r.redis_trips / n:.3f} | "
                      f"{r.redis_commands / n:.1f} | {r.redis_traffic / n:.0f} | "
                      f"{r.redis_bytes_per_url:.0f}") if r.redis_commands else "- | - | - | - | -"
        pg_cols = (f"{r.pg_commits / r.usage.wall:.0f} | {r.pg_rows / n:.2f}"
                   if r.pg_commits else "- | -")
        lines.append(f"| {r.name} | {r.pages} | {r.usage.wall:.1f} | {r.rate:.0f} | {versus} | "
                     f"{1000 * r.usage.cpu / n:.2f} | {redis_cols} | {pg_cols} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    add_site_arguments(parser)  # --concurrency is per worker
    parser.add_argument("--no-single", action="store_true", help="skip the one-process row")
    parser.add_argument("--worker-args", default="", help="extra flags for every worker")
    args = parser.parse_args()
    hosts, names = site_hosts(args)
    total = generate(args.site, names, args.pages_per_host)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    seeds = work / "seeds.txt"
    seeds.write_text("".join(f"http://{n}/\n" for n in names))
    rows: list[Row] = []
    extra = args.worker_args.split()
    redis_server = RedisServer(work, appendfsync="everysec").start()
    pg = PostgresServer(durable=True).start()
    try:
        with serve_static({(h, args.port): args.site / f"{h}:{args.port}" for h in hosts}):
            if not args.no_single:
                warm_page_cache(args.site)
                rows.append(run_single(seeds, work, args.concurrency, extra))
                print(f"{rows[-1].name}: {rows[-1].rate:.0f} pages/s", file=sys.stderr)
            for count in (int(n) for n in args.workers.split(",")):
                warm_page_cache(args.site)
                rows.append(run_workers(count, seeds, work, redis_server, pg,
                                        args.concurrency, extra))
                print(f"{rows[-1].name}: {rows[-1].pages} pages, {rows[-1].rate:.0f} pages/s",
                      file=sys.stderr)
    finally:
        redis_server.stop()
        pg.remove()
    print(f"\n{total} pages of 20-60 KB on {args.hosts} hosts (nginx, 127.0.0.x); each worker "
          f"--concurrency {args.concurrency}, per-host {args.concurrency} job-wide; robots.txt "
          f"obeyed; Redis with AOF everysec, PostgreSQL with fsync on; {os.cpu_count()} CPUs "
          "shared by everything\n")
    print(table(rows))


if __name__ == "__main__":
    main()
