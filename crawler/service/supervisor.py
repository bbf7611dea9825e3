"""Runs the service's jobs: each in a child process (crawler.service.child), at most `max_jobs`
at once, the rest queued in the order they came; pause, resume, recrawl and cancel; scheduled
turns; and, at start, every job a killed service left running is started again (its crawl
resumes from its job directory)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import os
import signal
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from crawler.jobs.cron import next_turn
from crawler.records import now_iso
from crawler.service.jobs import ENDED, JobFiles, JobStore, Lifecycle

log = logging.getLogger(__name__)
TICK_SECONDS = 0.5
RATE_WINDOW = 10.0  # seconds of status samples a job's pages/s is measured over
LOG_TAIL_BYTES = 64 << 10  # of a failed crawl's log, read for its last error line


class Conflict(Exception):
    """The job is not in a state that allows this; the message says why (HTTP 409)."""


KILL_AFTER = 60.0  # seconds a paused or cancelled crawl gets to stop before SIGKILL


class _Failed(Exception):
    """The crawl's process ended with an error (the message says which)."""


def kill_group(pid: int) -> None:
    """SIGKILL what is left of a crawl's process group (the crawl is its session leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _next_turn(schedule: str) -> str:
    now = datetime.now(UTC)
    return next_turn(schedule, now).isoformat(timespec="seconds")


def _due(when: str | None) -> bool:
    return when is not None and datetime.fromisoformat(when) <= datetime.now(UTC)


class Supervisor:
    def __init__(self, store: JobStore, max_jobs: int, allow_networks: list[str]) -> None:
        self.store = store
        self.max_jobs = max_jobs
        self.allow_networks = allow_networks
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.active: set[str] = set()  # jobs with a crawl process, starting or running
        self.live: dict[str, dict[str, Any]] = {}  # job id -> its last status file
        self._samples: dict[str, deque[tuple[float, int]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Task[None]] = set()
        self._closing = False
        self.version = 0  # goes up with every change of a job's state the service writes
        self.deleting: set[str] = set()  # jobs a DELETE is stopping and removing
        self.spawns: dict[str, asyncio.Task[None]] = {}  # job id -> the task running its crawl
        self._turns: list[tuple[datetime, str]] = []  # (next turn, job id): a heap

    async def start(self) -> None:
        """Start ticking over the loaded store (`JobStore.load`)."""
        for job in self.store.jobs(("running",)):  # the service was killed with it running
            log.info("job %s was running when the service stopped: resuming it", job.id)
        for job in self.store.jobs(("completed",)):
            self._plan_turn(job, job.state())
        self._task = asyncio.create_task(self._run(), name="supervisor")

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # one bad job directory must not stop every job
                log.exception("supervisor tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)
            self._wake.clear()

    async def tick(self) -> None:
        """Read the running jobs' numbers (off the event loop), start due scheduled turns,
        start queued jobs: the work grows with the running, due and started jobs, not with
        the kept ones."""
        running = [job for job_id in self.active if (job := self.store.get(job_id))]
        if running:
            lives = await asyncio.to_thread(lambda: [(job.id, job.live()) for job in running])
            now = time.monotonic()
            for job_id, live in lives:
                self._sample(job_id, live, now)
        self._start_due_turns()
        slots = self.max_jobs - len(self.active)
        for job in self.store.jobs(("queued", "running")):
            if slots <= 0:
                break
            if job.id not in self.active:
                self._start(job, job.state())
                slots -= 1

    def _plan_turn(self, job: JobFiles, life: Lifecycle) -> None:
        if life.next_run_at is not None:
            heapq.heappush(self._turns, (datetime.fromisoformat(life.next_run_at), job.id))

    def _start_due_turns(self) -> None:
        """Queue every scheduled job whose next turn has come (earliest first)."""
        now = datetime.now(UTC)
        while self._turns and self._turns[0][0] <= now:
            _, job_id = heapq.heappop(self._turns)
            job = self.store.get(job_id)
            if job is None:  # deleted since
                continue
            life = job.state()
            if life.state == "completed" and _due(life.next_run_at):
                life.state, life.recrawl, life.next_run_at = "queued", True, None
                self._write(job, life)

    def _sample(self, job_id: str, live: dict[str, Any] | None, now: float) -> None:
        if live is None:
            return
        self.live[job_id] = live
        samples = self._samples.setdefault(job_id, deque())
        samples.append((now, int(live.get("pages", 0))))
        while samples and samples[0][0] < now - RATE_WINDOW:
            samples.popleft()

    def rate(self, job_id: str) -> float:
        """Pages per second over the last RATE_WINDOW seconds of a running job."""
        samples = self._samples.get(job_id)
        if job_id not in self.active or not samples or len(samples) < 2:
            return 0.0
        (t0, p0), (t1, p1) = samples[0], samples[-1]
        return round((p1 - p0) / (t1 - t0), 2) if t1 > t0 else 0.0

    def _start(self, job: JobFiles, life: Lifecycle) -> None:
        resumed = life.state == "running"
        life.state = "running"
        if not resumed:
            life.started_at, life.finished_at, life.error = now_iso(), None, None
            life.runs += 1
        self._write(job, life)
        self.active.add(job.id)
        task = asyncio.create_task(self._spawn(job), name=f"job-{job.id}")
        self._waiters.add(task)
        task.add_done_callback(self._waiters.discard)
        self.spawns[job.id] = task
        task.add_done_callback(functools.partial(self._spawned, job.id))

    def _spawned(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self.spawns.get(job_id) is task:
            del self.spawns[job_id]

    async def _spawn(self, job: JobFiles) -> None:
        command = [sys.executable, "-m", "crawler.service.child", str(job.root)]
        for network in self.allow_networks:
            command += ["--allow-network", network]
        try:
            with job.log_path.open("ab") as log_file:
                process = await asyncio.create_subprocess_exec(
                    *command, stdin=asyncio.subprocess.DEVNULL, stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            self.active.discard(job.id)
            self._ended(job, None, f"could not start the crawl: {exc}")
            return
        self.children[job.id] = process
        log.info("job %s: crawl started (pid %d)", job.id, process.pid)
        if job.state().state != "running":  # paused or cancelled while it started
            process.send_signal(signal.SIGTERM)
        code: int | None = None
        try:
            code = await process.wait()
        finally:
            kill_group(process.pid)  # parse workers it left (killed before it could end them)
            del self.children[job.id]
            try:  # still active meanwhile, so that no tick starts it again
                final, error = await asyncio.to_thread(self._read_end, job, code)
                if final is not None:
                    self.live[job.id] = final
            finally:
                self.active.discard(job.id)
        if not self._closing:
            self._ended(job, code, error)
            self.wake()

    @classmethod
    def _read_end(cls, job: JobFiles, code: int | None) -> tuple[dict[str, Any] | None,
                                                                  str | None]:
        """What a crawl left when it ended: its last numbers, its report (loaded into the
        job), and its own last error line if it failed."""
        job.load_report()
        return job.live(), (cls._last_error(job, code) if code != 0 else None)

    def _ended(self, job: JobFiles, code: int | None, error: str | None) -> None:
        """Record how the job's process ended, unless a pause or cancel already said (or the
        job is being deleted)."""
        if job.id in self.deleting:
            return
        life = job.state()
        self._samples.pop(job.id, None)
        if life.state != "running":  # paused or cancelled while it ran: that stands
            return
        life.recrawl = False
        life.finished_at = now_iso()
        try:
            if code != 0:
                raise _Failed(error or self._last_error(job, code))
            life.state = "completed"
            spec = job.spec()
            if spec.schedule:
                life.next_run_at = _next_turn(spec.schedule)
        except Exception as exc:  # whatever goes wrong here, the job ends: never "running"
            life.state, life.next_run_at = "failed", None
            life.error = str(exc) if isinstance(exc, _Failed) else (
                f"ending the job failed: {type(exc).__name__}: {exc}")
        self._write(job, life)
        log.info("job %s: %s", job.id, life.state)

    @staticmethod
    def _last_error(job: JobFiles, code: int | None) -> str:
        """The crawl's own last error line, else its exit status."""
        try:
            with job.log_path.open("rb") as log_file:
                log_file.seek(max(0, log_file.seek(0, os.SEEK_END) - LOG_TAIL_BYTES))
                lines = log_file.read().decode(errors="replace").splitlines()[-50:]
        except OSError:
            lines = []
        for line in reversed(lines):
            if "error" in line.lower():
                return line.split("crawler: error: ", 1)[-1][-500:]
        return f"the crawl exited with status {code}"

    def _write(self, job: JobFiles, life: Lifecycle) -> None:
        self.store.write_state(job, life)
        self._plan_turn(job, life)
        self.version += 1

    # -- what the API asks for --------------------------------------------------------------

    def pause(self, job: JobFiles) -> None:
        self._set(job, "paused", allowed={"queued", "running"})

    def cancel(self, job: JobFiles) -> None:
        self._set(job, "cancelled", allowed={"queued", "running", "paused", "completed",
                                             "failed"})

    async def delete(self, job: JobFiles) -> None:
        """Stop the job's crawl if it runs (SIGTERM, then its process group killed after
        KILL_AFTER seconds), then delete the job and its records; the directory's removal
        runs off the event loop."""
        self.deleting.add(job.id)
        try:
            self.store.forget(job)
            self.version += 1
            process = self.children.get(job.id)
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await self._kill_if_still_running(process)
            spawn = self.spawns.get(job.id)
            if spawn is not None:  # its task has seen the crawl end
                await asyncio.shield(spawn)
            await asyncio.to_thread(self.store.delete_files, job)
            self.live.pop(job.id, None)
            self._samples.pop(job.id, None)
        finally:
            self.deleting.discard(job.id)

    def resume(self, job: JobFiles) -> None:
        life = job.state()
        if life.state != "paused":
            raise Conflict(f"job {job.id} is {life.state}, not paused")
        life.state = "queued"
        self._write(job, life)
        self.wake()

    def recrawl(self, job: JobFiles) -> None:
        life = job.state()
        if life.state not in ENDED:
            raise Conflict(f"job {job.id} is {life.state}: recrawl a job that has ended")
        life.state, life.recrawl, life.next_run_at = "queued", True, None
        self._write(job, life)
        self.wake()

    def _set(self, job: JobFiles, state: str, allowed: set[str]) -> None:
        life = job.state()
        if life.state not in allowed:
            raise Conflict(f"job {job.id} is {life.state}")
        life.state, life.next_run_at = state, None
        if state == "cancelled":
            life.finished_at = now_iso()
        self._write(job, life)  # first: a service killed now still knows what was asked
        process = self.children.get(job.id)
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)  # the crawl drains and keeps its state
            task = asyncio.create_task(self._kill_if_still_running(process))
            self._waiters.add(task)
            task.add_done_callback(self._waiters.discard)
        self.wake()

    async def _kill_if_still_running(self, process: asyncio.subprocess.Process) -> None:
        """A crawl that has not stopped KILL_AFTER seconds after SIGTERM (one still starting
        its pool, or stuck) is killed with its process group; its job directory resumes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), KILL_AFTER)
            return
        log.warning("crawl pid %d did not stop %gs after SIGTERM: killing it", process.pid,
                    KILL_AFTER)
        kill_group(process.pid)

    async def close(self) -> None:
        """Stop the service: each running crawl stops cleanly and stays "running" on disk,
        so the next start resumes it."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for process in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if self._waiters:
            await asyncio.gather(*self._waiters, return_exceptions=True)
