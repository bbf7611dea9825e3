"""`python -m crawler status --frontier redis://... --job-name NAME`: what a job in Redis holds
(queued, leased, done, reclaimed from dead workers) and the rules its workers share."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from crawler.cluster.job import job_prefix, load_job
from crawler.cluster.redis_frontier import RedisLink
from crawler.cluster.worker import redis_client
from crawler.errors import UsageError
from crawler.settings import Settings


async def cluster_status(settings: Settings) -> dict[str, Any]:
    """The job's counters as plain data; UsageError when no such job is in Redis."""
    client = redis_client(settings)
    try:
        link = RedisLink(settings.outage_seconds, settings.job_name)
        job = await link.call(lambda: load_job(client, settings.job_name))
        if job is None:
            raise UsageError(f"job {settings.job_name!r} is not in Redis at {settings.frontier} "
                             "(seed it first: python -m crawler seed SEEDS --frontier ...)")
        prefix = job_prefix(job.name)

        async def counters() -> tuple[dict[bytes, bytes], int, int]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.hgetall(prefix + ":stats")
                pipe.hlen(prefix + ":lease")
                pipe.zcount(prefix + ":deadline", "-inf", int(time.time() * 1000))
                stats, leased, overdue = await pipe.execute()
            return stats, leased, overdue

        stats, leased, overdue = await link.call(counters)
    finally:
        await client.aclose()
    number = {k.decode(): int(v) for k, v in stats.items()}
    queued = number.get("queued", 0)
    return {
        "job": job.name, "run_id": job.run_id, "frontier": settings.frontier,
        "created_at": datetime.fromtimestamp(job.created_at, UTC).isoformat(timespec="seconds"),
        "seeds": len(job.seeds),
        "rules": {"per_host": job.per_host, "delay": job.delay, "robots": not job.hosts_known,
                  "max_pages": job.max_pages, "max_depth": job.max_depth, "scope": job.scope},
        "urls": {"admitted": number.get("admitted", 0), "queued": queued, "leased": leased,
                 "overdue": overdue, "done": number.get("done", 0),
                 "reclaimed": number.get("reclaimed", 0)},
        "finished": queued == 0 and leased == 0,
    }


def describe_cluster(info: dict[str, Any]) -> list[str]:
    urls, rules = info["urls"], info["rules"]
    state = "finished: nothing queued or leased" if info["finished"] else "in progress"
    return [
        f"job {info['job']} (run {info['run_id']}) at {info['frontier']}: {state}",
        f"created {info['created_at']} from {info['seeds']} seeds; rules: per-host "
        f"{rules['per_host']}, delay {rules['delay']:g}s, robots.txt "
        f"{'obeyed' if rules['robots'] else 'ignored'}, max-pages {rules['max_pages'] or 'none'}"
        f", max-depth {rules['max_depth'] or 'none'}, scope {rules['scope']}",
        f"urls: {urls['admitted']} admitted; {urls['queued']} queued, {urls['leased']} leased "
        f"({urls['overdue']} overdue: their worker stopped renewing), {urls['done']} done; "
        f"{urls['reclaimed']} taken back from workers that died",
    ]
