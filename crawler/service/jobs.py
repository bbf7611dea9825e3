"""The service's jobs on disk: one directory each under DATA_DIR/jobs, holding what was asked
(spec.json), where the job is in its life (state.json), the crawl's own job directory (crawl/,
crash-safe as every job directory is), its live numbers (status.json) and its log (crawl.log).

Every change of state is written atomically before it takes effect, so a service killed at
any moment finds each job as it left it: a "running" job whose process is gone is started
again, and its crawl resumes where its job directory says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from crawler.records import now_iso
from crawler.service.job_index import JobIndex
from crawler.util.atomicfile import write_atomically

log = logging.getLogger(__name__)
RULES = "rules.json"  # crawler.service.spec.RULES_FILE
DELETED = ".deleted-"  # a job directory being deleted
STATES = ("queued", "running", "paused", "completed", "failed", "cancelled")
ENDED = frozenset({"completed", "failed", "cancelled"})
SPEC, STATE, STATUS, LOG, CRAWL = "spec.json", "state.json", "status.json", "crawl.log", "crawl"


@dataclass
class JobSpec:
    """What a client asked for; fixed when the job is created."""

    id: str
    seeds: list[str]
    settings: dict[str, Any]
    schedule: str | None = None
    created_at: str = field(default_factory=now_iso)
    name: str | None = None  # what the client calls it (shown beside the id)


@dataclass
class Lifecycle:
    """Where the job is: `state` (one of STATES), when it ran, why it failed, and what the
    next start is (a recrawl after /recrawl or a scheduled turn)."""

    state: str = "queued"
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    recrawl: bool = False
    next_run_at: str | None = None  # a scheduled job's next turn (UTC, ISO 8601)
    runs: int = 0


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Report:
    """A run's report as its view shows it: the file's JSON as it is, and its numbers."""

    json: orjson.Fragment
    records: int
    errors: int
    pending: int


def read_report(path: Path) -> Report | None:
    """The run report at `path`, if a run ended and wrote one."""
    try:
        raw = path.read_bytes()
        report = orjson.loads(raw)
        return Report(orjson.Fragment(raw), report["records"],
                      sum(report["errors_by_kind"].values()), report["pending"])
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


class JobFiles:
    """One job's directory. The service reads it once (`load`, off the event loop) and keeps
    what a view shows in memory; a job's crawl process reads it lazily."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.id = root.name
        self._spec: JobSpec | None = None  # fixed once written
        self._state: Lifecycle | None = None  # the service alone writes it: kept in memory
        self._report: Report | None = None  # the last run's, read when a run ends
        self._rules: orjson.Fragment | None = None  # the rules object, as the client sent it

    def load(self) -> JobFiles:
        """Read what the service keeps in memory: spec, state, report and rules."""
        self.spec()
        self.state()
        self.load_report()
        with contextlib.suppress(OSError):
            self._rules = orjson.Fragment((self.root / RULES).read_bytes())
        return self

    @property
    def crawl_dir(self) -> Path:
        return self.root / CRAWL

    @property
    def status_path(self) -> Path:
        return self.root / STATUS

    @property
    def log_path(self) -> Path:
        return self.root / LOG

    @property
    def db_path(self) -> Path:
        return self.crawl_dir / "crawl.db"

    @property
    def report_path(self) -> Path:
        return self.crawl_dir / "report.json"

    def spec(self) -> JobSpec:
        if self._spec is None:
            self._spec = JobSpec(**orjson.loads((self.root / SPEC).read_bytes()))
        return self._spec

    def state(self) -> Lifecycle:
        """A copy of the job's state (read from state.json once, then kept)."""
        if self._state is None:
            self._state = Lifecycle(**orjson.loads((self.root / STATE).read_bytes()))
        return replace(self._state)

    @property
    def state_name(self) -> str:
        """The job's state (one of STATES), without a copy of its lifecycle."""
        if self._state is None:
            self.state()
        assert self._state is not None
        return self._state.state

    def rules(self) -> orjson.Fragment | None:
        """The rules object the client gave (`settings.extract`), as loaded."""
        return self._rules

    def write_state(self, state: Lifecycle) -> None:
        write_atomically(self.root / STATE, orjson.dumps(asdict(state)))
        self._state = replace(state)

    def live(self) -> dict[str, Any] | None:
        """The crawl's last status file, if it wrote one."""
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            return orjson.loads(self.status_path.read_bytes())
        return None

    def load_report(self) -> None:
        """Read the last run's report again (when a run has ended)."""
        self._report = read_report(self.report_path)

    def report(self) -> Report | None:
        """The last run's report, as last loaded."""
        return self._report


class JobStore:
    """The jobs under DATA_DIR/jobs, indexed in memory: after `load`, the service alone adds,
    changes and removes jobs, so a tick or a listing reads no file, and the file work of a
    new or a deleted job runs off the event loop."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "jobs"
        self._jobs: dict[str, JobFiles] = {}
        self.index = JobIndex(STATES)
        self.creating = asyncio.Lock()  # a new job's check, delete and create, one at a time

    async def load(self) -> None:
        """Read every job (oldest first) off the event loop, and finish deletes a killed
        service left half-done."""
        for job in await asyncio.to_thread(self._read_all):
            self._add(job)

    def _read_all(self) -> list[JobFiles]:
        self.root.mkdir(parents=True, exist_ok=True)
        for left in self.root.glob(f"{DELETED}*"):  # a delete the service died in
            shutil.rmtree(left, ignore_errors=True)
        jobs = []
        for path in self.root.iterdir():
            if path.name.startswith(DELETED) or not (path / STATE).exists():
                continue  # a half-written job (a crash before its state) is never listed
            try:
                jobs.append(JobFiles(path).load())
            except (OSError, orjson.JSONDecodeError, TypeError) as exc:  # never silently
                log.error("job directory %s is unreadable and not listed: %s", path, exc)
        jobs.sort(key=lambda job: (job.spec().created_at, job.id))
        return jobs

    def _add(self, job: JobFiles) -> None:
        self._jobs[job.id] = job
        self.index.add(job.id, job.state_name)

    def __len__(self) -> int:
        return len(self._jobs)

    async def create(self, spec: JobSpec, files: dict[str, bytes]) -> JobFiles:
        """Write a new job (off the event loop): its spec, its queued state and `files` (the
        rules, by name); a half-written job (a crash) has no state.json and is never
        listed."""
        job = await asyncio.to_thread(self._write_new, spec, files)
        self._add(job)
        return job

    def _write_new(self, spec: JobSpec, files: dict[str, bytes]) -> JobFiles:
        job = JobFiles(self.root / spec.id)
        job.root.mkdir(mode=0o700)  # its spec and files may hold a job's credentials
        for name, data in files.items():
            (job.root / name).write_bytes(data)
        write_atomically(job.root / SPEC, orjson.dumps(asdict(spec)))
        job.write_state(Lifecycle())
        return job.load()

    def write_state(self, job: JobFiles, state: Lifecycle) -> None:
        """Write the job's new state (a small file, replaced atomically) and index it."""
        job.write_state(state)
        self.index.set_state(job.id, state.state)

    def get(self, job_id: str) -> JobFiles | None:
        return self._jobs.get(job_id)

    def jobs(self, states: tuple[str, ...] = (), after: str | None = None,
             newest: bool = False) -> Iterator[JobFiles]:
        """Jobs oldest first (or newest), only in `states` if given, after the job `after`."""
        return (self._jobs[job_id] for job_id in self.index.ids(states, after, newest))

    def forget(self, job: JobFiles) -> None:
        """Take the job out of the index (its directory stays until `delete_files`)."""
        self._jobs.pop(job.id, None)
        self.index.remove(job.id)

    async def remove(self, job: JobFiles) -> None:
        """Forget the job at once, then delete its directory off the event loop."""
        self.forget(job)
        await asyncio.to_thread(self.delete_files, job)

    @staticmethod
    def delete_files(job: JobFiles) -> None:
        """Renamed first (the step that commits the delete, atomic; a service killed after
        it deletes the rest when it starts), then removed."""
        gone = job.root.with_name(f"{DELETED}{job.id}")
        with contextlib.suppress(FileNotFoundError):
            job.root.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)
