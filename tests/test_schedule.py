"""`python -m crawler schedule`: crawls on a cron schedule, one at a time, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

from tests.site import Site
from tests.test_cli import clean_env, run_cli


def completed_runs(db_path: Path) -> list[str]:
    try:
        with sqlite3.connect(db_path) as db:
            rows = db.execute("SELECT run_id FROM runs WHERE outcome = 'completed' "
                              "ORDER BY rowid").fetchall()
    except sqlite3.Error:
        return []
    return [run_id for (run_id,) in rows]


async def test_schedule_recrawls_at_each_cron_time_until_sigterm(tmp_path: Path,
                                                                 site: Site) -> None:
    """With a cron expression firing every second, the scheduler runs the crawl again and
    again (the second run finds every page unchanged); SIGTERM stops it with 143."""
    site.page("/", "/a", validators="etag")
    site.page("/a", validators="etag")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "schedule", "--with-seconds", "* * * * * */1",
        "seeds.txt",
        "--job-dir", "job", "--recrawl", "--quiet", cwd=tmp_path, env=clean_env(),
        stderr=asyncio.subprocess.PIPE)
    for _ in range(300):
        if len(completed_runs(tmp_path / "job" / "crawl.db")) >= 2:
            break
        await asyncio.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    log = err.decode()
    assert proc.returncode == 143, log
    assert "next crawl at" in log and "crawl exited with 0 (finished)" in log
    runs = completed_runs(tmp_path / "job" / "crawl.db")
    assert len(runs) >= 2
    with sqlite3.connect(tmp_path / "job" / "crawl.db") as db:
        changes = db.execute("SELECT change, status FROM pages WHERE run_id = ?",
                             (runs[1],)).fetchall()
    assert changes == [("unchanged", 304), ("unchanged", 304)]


async def test_schedule_rejects_bad_expressions_and_crawl_options_at_once(
        tmp_path: Path) -> None:
    """A bad cron expression or a bad crawl option fails when the scheduler starts (exit 2),
    not hours later when the first run would begin."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    code, _, err = await run_cli("schedule", "every night", "seeds.txt", cwd=tmp_path)
    assert code == 2 and "'every night' is not a cron expression" in err
    code, _, err = await run_cli("schedule", "0 3 * * *", "seeds.txt", "--concurrency", "0",
                                 cwd=tmp_path)
    assert code == 2 and "invalid setting concurrency=" in err
