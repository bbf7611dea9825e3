"""`seed` and `worker` on the command line: one-line errors for what a worker cannot use, a
seed run twice, a worker started before the seed (as compose may start it), and a seed that
redirects to another host, which every worker then takes into scope."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
from pathlib import Path

import asyncpg
import pytest

from bench.servers import RedisClusterServers, redis_binary
from tests.real_servers import RedisServer, require
from tests.site import Site
from tests.test_cli import _slow_site, one_line_error, run_cli
from tests.test_cluster import (  # noqa: F401 (a fixture)
    Workers,
    no_worker_outlives_its_test,
    stored,
    until_stored,
)

pytestmark = pytest.mark.system


@pytest.mark.parametrize(("args", "expected"), [
    (["-o", "x.db"], "this command needs --frontier redis://HOST:PORT/DB"),
    (["--frontier", "redis://127.0.0.1:1/0"], "a worker needs an output for its records"),
    (["--frontier", "redis://127.0.0.1:1/0", "-o", "x.jsonl"],
     "a worker's outputs must be idempotent"),
    (["--frontier", "redis://127.0.0.1:1/0", "-o", "x.db", "--webhook", "http://x/"],
     "a cluster's workers keep no change history"),
    (["--frontier", "http://x", "-o", "x.db"],
     "invalid setting frontier='http://x' (from --frontier): must be empty"),
    (["--frontier", "redis://127.0.0.1:1/0", "--job-name", "a b", "-o", "x.db"],
     "invalid setting job_name='a b'"),
])
async def test_worker_usage_errors_are_one_line(tmp_path: Path, args: list[str],
                                                expected: str) -> None:
    """What a worker cannot work with is one 'crawler: error:' line and exit 2."""
    code, _, err = await run_cli("worker", *args, cwd=tmp_path)
    assert code == 2
    one_line_error(err, expected)


async def test_a_one_process_crawl_given_a_frontier_says_how_to_use_it(tmp_path: Path) -> None:
    """`python -m crawler SEEDS --frontier ...` does not silently ignore the frontier: one line
    names the seed and worker commands, exit 2, nothing crawled."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:1/\n")
    code, _, err = await run_cli("seeds.txt", "--frontier", "redis://127.0.0.1:1/0",
                                 cwd=tmp_path)
    assert code == 2 and not (tmp_path / "crawl-job").exists()
    one_line_error(err, "is for many workers: run `python -m crawler seed SEEDS --frontier")


async def test_the_jobs_robots_rule_binds_a_worker_told_otherwise(
        site: Site, redis_server: RedisServer, pg_dsn: str, tmp_path: Path) -> None:
    """A job seeded with robots.txt obeyed stays polite under a worker started with
    --no-robots: the disallowed page is never requested."""
    site.add("/robots.txt", b"User-agent: *\nDisallow: /private\n", content_type="text/plain")
    site.page("/", "/private", "/public")
    site.page("/public")
    site.page("/private")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seed", "seeds.txt", "--frontier", redis_server.url,
                                 "--job-name", "cluster-test", cwd=tmp_path)
    assert code == 0, err
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    assert await workers.wait_all([await workers.worker("--no-robots")], 60) == [0]
    assert site.hits["/private"] == 0 and site.hits["/public"] == 1
    db = await asyncpg.connect(pg_dsn)
    error = await db.fetchval("SELECT error FROM pages WHERE url = $1", site.url("/private"))
    await db.close()
    assert error == "disallowed by robots.txt"


async def test_seeding_twice_adds_only_new_seeds(site: Site, redis_server: RedisServer,
                                                 tmp_path: Path) -> None:
    """The second seed run finds the job, keeps its rules and queues only new URLs."""
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    args = ["seed", "seeds.txt", "--frontier", redis_server.url, "--job-name", "j"]
    code, _, err = await run_cli(*args, cwd=tmp_path)
    assert code == 0 and "job j created (run " in err and "1 of 1 seeds queued" in err
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n" + site.url("/new") + "\n")
    code, _, err = await run_cli(*args, "--per-host", "9", cwd=tmp_path)
    assert code == 0 and "job j exists" in err and "1 of 2 seeds queued" in err


async def test_a_bad_seed_line_is_reported_and_does_not_fail_the_seed(
        site: Site, redis_server: RedisServer, tmp_path: Path) -> None:
    """`seed` logs a bad line and exits 0 having queued the others: compose starts the workers
    only after `seed` succeeds, so a failure here would stall the whole cluster."""
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\nnot a url\n" + site.url("/b") + "\n")
    code, _, err = await run_cli("seed", "seeds.txt", "--frontier", redis_server.url,
                                 "--job-name", "bad-line", cwd=tmp_path)
    assert code == 0, err
    assert "skipping seed line seeds.txt:2:" in err and "2 of 2 seeds queued" in err


async def test_a_worker_started_first_waits_for_its_seed(site: Site, redis_server: RedisServer,
                                                         pg_dsn: str, tmp_path: Path) -> None:
    """A worker that starts before the job exists waits for `seed`, then crawls it; a worker
    joining the finished job exits 0 at once."""
    _slow_site(site, 20, 0.0)
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    early = await workers.worker("--job-name", "late")
    await asyncio.sleep(1.5)
    assert early.returncode is None
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    code, _, err = await run_cli("seed", "seeds.txt", "--frontier", redis_server.url,
                                 "--job-name", "late", cwd=tmp_path)
    assert code == 0, err
    assert await workers.wait_all([early], 60) == [0], workers.log(0)
    late = await workers.worker("--job-name", "late")
    assert await workers.wait_all([late], 30) == [0]
    db = await asyncpg.connect(pg_dsn)
    count = await db.fetchval("SELECT count(*) FROM pages WHERE job = 'late'")
    await db.close()
    assert count == 20


async def test_a_seeds_redirect_target_is_in_scope_for_every_worker(
        two_sites: tuple[Site, Site], redis_server: RedisServer, pg_dsn: str,
        tmp_path: Path) -> None:
    """The seed redirects to another host. The worker that followed the redirect is stopped;
    the next worker never saw the redirect, yet takes that host into scope from the job and
    crawls all of it."""
    first, second = two_sites
    first.redirect("/", second.url("/p0"))
    _slow_site(second, 40, 0.1)
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    (tmp_path / "seeds.txt").write_text(first.url("/") + "\n")
    code, _, err = await run_cli("seed", "seeds.txt", "--frontier", redis_server.url,
                                 "--job-name", "cluster-test", "--per-host", "1", cwd=tmp_path)
    assert code == 0, err
    followed = await workers.worker()
    await until_stored(pg_dsn, 1)
    followed.send_signal(signal.SIGTERM)
    assert await workers.wait_all([followed], 30) == [128 + signal.SIGTERM]
    assert await stored(pg_dsn) < 20
    rest = await workers.worker()
    assert await workers.wait_all([rest], 60) == [0], workers.log(2)
    db = await asyncpg.connect(pg_dsn)
    urls = {r["url"] for r in await db.fetch("SELECT url FROM pages")}
    await db.close()
    assert urls == {first.url("/"), *(second.url(f"/p{n}") for n in range(40))}


async def test_workers_share_a_job_on_a_redis_cluster(site: Site, pg_dsn: str,
                                                      tmp_path: Path) -> None:
    """--frontier redis-cluster://: a three-master Redis Cluster on loopback. Seed and workers
    each talk to a different node, most of which do not own the job's hash slot, and the crawl
    completes with every page stored once."""
    require(redis_binary() is not None and shutil.which("redis-cli") is not None,
            "redis-server and redis-cli")
    cluster = RedisClusterServers(tmp_path / "cluster").start()
    try:
        _slow_site(site, 30, 0.01)
        urls = [f"redis-cluster://127.0.0.1:{node.port}" for node in cluster.nodes]
        (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
        code, _, err = await run_cli("seed", "seeds.txt", "--frontier", urls[0], "--job-name",
                                     "cluster-test", cwd=tmp_path)
        assert code == 0, err
        workers = Workers(tmp_path, urls[1], pg_dsn)
        procs = [await workers.worker(), await workers.worker("--frontier", urls[2])]
        assert await workers.wait_all(procs, 60) == [0, 0], workers.log(0) + workers.log(1)
        db = await asyncpg.connect(pg_dsn)
        rows = await db.fetch("SELECT url FROM pages")
        await db.close()
        assert sorted(r["url"] for r in rows) == sorted(site.url(f"/p{n}") for n in range(30))
    finally:
        cluster.stop()


async def test_a_cluster_node_named_as_plain_redis_is_a_clear_error(site: Site,
                                                                    tmp_path: Path) -> None:
    """redis:// pointed at a Redis Cluster node that does not own the job's slot: one line
    saying to use redis-cluster://, exit 1, no traceback."""
    require(redis_binary() is not None and shutil.which("redis-cli") is not None,
            "redis-server and redis-cli")
    cluster = RedisClusterServers(tmp_path / "cluster").start()
    try:
        (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
        codes = []
        for node in cluster.nodes:
            code, _, err = await run_cli("seed", "seeds.txt", "--frontier",
                                         f"redis://127.0.0.1:{node.port}/0", "--job-name",
                                         "j", cwd=tmp_path)
            codes.append(code)
            if code:
                one_line_error(err, "--frontier names a node of a Redis Cluster: use "
                               "redis-cluster://HOST:PORT")
        assert sorted(codes) == [0, 1, 1]  # only the slot's owner can answer
    finally:
        cluster.stop()


async def test_status_shows_a_job_in_redis(site: Site, redis_server: RedisServer, pg_dsn: str,
                                           tmp_path: Path) -> None:
    """`status --frontier ... --job-name ...` reads the job's counters: in progress after the
    seed, finished with every URL done after a worker; a job not in Redis is a one-line
    error."""
    _slow_site(site, 12, 0.0)
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    where = ["--frontier", redis_server.url, "--job-name", "cluster-test"]
    assert (await run_cli("seed", "seeds.txt", *where, cwd=tmp_path))[0] == 0
    code, out, _ = await run_cli("status", *where, "--json", cwd=tmp_path)
    info = json.loads(out)
    assert code == 0 and not info["finished"] and info["urls"]["queued"] == 1
    assert info["rules"]["per_host"] == 2 and info["seeds"] == 1
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    assert await workers.wait_all([await workers.worker()], 60) == [0]
    code, out, _ = await run_cli("status", cwd=tmp_path, env={  # as in the compose services
        "CRAWLER_FRONTIER": redis_server.url, "CRAWLER_JOB_NAME": "cluster-test"})
    assert code == 0 and "finished: nothing queued or leased" in out
    assert "urls: 12 admitted; 0 queued, 0 leased (0 overdue" in out and "12 done" in out
    code, _, err = await run_cli("status", "--frontier", redis_server.url, "--job-name", "nope",
                                 cwd=tmp_path)
    assert code == 2
    one_line_error(err, "job 'nope' is not in Redis at redis://")
