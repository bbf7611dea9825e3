"""A cluster job's identity and rules, kept in Redis: set once by `seed`, read by every worker.

Politeness, budgets and scope are the job's, not each worker's, so they hold the same for every
worker: a worker started with another --per-host does not get more of a host.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson
import redis.asyncio as aioredis

from crawler.settings import Settings

# Creates the meta hash unless it exists; returns 1 when it did. ARGV: field, value, ...
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


def job_prefix(name: str) -> str:
    """Every key of the job starts with this; the {hash tag} keeps them in one Cluster slot."""
    return f"crawler:{{{name}}}"


@dataclass(frozen=True)
class ClusterJob:
    """What every worker of a job agrees on."""

    name: str
    run_id: str
    seeds: tuple[str, ...]
    scope: str
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    per_host: int
    delay: float
    start_delay: float
    hosts_known: bool  # robots.txt off: every host gets all its slots at once
    max_pages: int
    max_depth: int
    max_pages_per_host: int
    max_query_variants: int
    seen_buckets: int
    created_at: float

    @classmethod
    def from_settings(cls, name: str, settings: Settings, seeds: list[str]) -> ClusterJob:
        return cls(name=name, run_id=uuid.uuid4().hex[:16], seeds=tuple(seeds),
                   scope=settings.scope, allow=settings.allow, deny=settings.deny,
                   per_host=settings.per_host, delay=settings.delay,
                   start_delay=max(settings.delay, settings.autothrottle_start
                                   if settings.autothrottle else 0.0),
                   hosts_known=not settings.robots, max_pages=settings.max_pages,
                   max_depth=settings.max_depth, max_pages_per_host=settings.max_pages_per_host,
                   max_query_variants=settings.max_query_variants,
                   seen_buckets=settings.seen_buckets, created_at=time.time())

    def to_redis(self) -> dict[str, str | int]:
        """The meta hash: the job as JSON, and the numbers the Lua scripts read."""
        return {"job": orjson.dumps(asdict(self)).decode(), "run_id": self.run_id,
                "per_host": self.per_host, "delay_ms": round(self.delay * 1000),
                "start_delay_ms": round(self.start_delay * 1000),
                "hosts_known": int(self.hosts_known), "max_pages": self.max_pages,
                "max_pages_per_host": self.max_pages_per_host,
                "max_query_variants": self.max_query_variants}

    @classmethod
    def from_json(cls, text: str | bytes) -> ClusterJob:
        data: dict[str, Any] = orjson.loads(text)
        for name in ("seeds", "allow", "deny"):
            data[name] = tuple(data[name])
        return cls(**{f.name: data[f.name] for f in fields(cls)})


async def create_job(client: aioredis.Redis, job: ClusterJob) -> tuple[ClusterJob, bool]:
    """Store `job` unless one of that name exists; returns the job in Redis and whether it is
    the one just created."""
    key = job_prefix(job.name) + ":meta"
    args = [x for pair in job.to_redis().items() for x in pair]
    created = await client.eval(_CREATE, 1, key, *args)
    if created:
        return job, True
    existing = await load_job(client, job.name)
    assert existing is not None
    return existing, False


async def load_job(client: aioredis.Redis, name: str) -> ClusterJob | None:
    text = await client.hget(job_prefix(name) + ":meta", "job")
    return ClusterJob.from_json(text) if text is not None else None
