"""The service's jobs on disk: one directory each under DATA_DIR/jobs, holding what was asked
(spec.json), where the job is in its life (state.json), the crawl's own job directory (crawl/,
crash-safe as every job directory is), its live numbers (status.json) and its log (crawl.log).

Every change of state is written atomically before it takes effect, so a service killed at
any moment finds each job as it left it: a "running" job whose process is gone is started
again, and its crawl resumes where its job directory says.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from crawler.records import now_iso
from crawler.util.atomicfile import write_atomically

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


class JobFiles:
    """One job's directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.id = root.name
        self._spec: JobSpec | None = None  # fixed once written
        self._state: Lifecycle | None = None  # the service alone writes it: kept in memory
        self._report: tuple[tuple[int, int], dict[str, Any]] | None = None  # (stat, report)
        self._rules: tuple[dict[str, Any] | None] | None = None  # read once

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

    def rules(self) -> dict[str, Any] | None:
        """The rules object the client gave (`settings.extract`), kept as rules.json."""
        if self._rules is None:
            try:
                self._rules = (orjson.loads((self.root / RULES).read_bytes()),)
            except (OSError, orjson.JSONDecodeError):
                self._rules = (None,)
        return self._rules[0]

    def write_state(self, state: Lifecycle) -> None:
        write_atomically(self.root / STATE, orjson.dumps(asdict(state)))
        self._state = replace(state)

    def live(self) -> dict[str, Any] | None:
        """The crawl's last status file, if it wrote one."""
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            return orjson.loads(self.status_path.read_bytes())
        return None

    def report(self) -> dict[str, Any] | None:
        """The crawl's last run report (report.json), if a run ended; read again only when
        the file changed."""
        try:
            stat = self.report_path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            if self._report is None or self._report[0] != key:
                self._report = (key, orjson.loads(self.report_path.read_bytes()))
            return self._report[1]
        except (OSError, orjson.JSONDecodeError):
            return None


class JobStore:
    """The jobs under DATA_DIR/jobs."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, JobFiles] | None = None  # read from disk once, oldest first
        for left in self.root.glob(f"{DELETED}*"):  # a delete the service died in
            shutil.rmtree(left, ignore_errors=True)

    def create(self, spec: JobSpec, files: dict[str, bytes]) -> JobFiles:
        """Write a new job: its spec, its queued state and `files` (the rules, by name); a
        half-written job (a crash) has no state.json and is never listed."""
        job = JobFiles(self.root / spec.id)
        job.root.mkdir(mode=0o700)  # its spec and files may hold a job's credentials
        for name, data in files.items():
            (job.root / name).write_bytes(data)
        write_atomically(job.root / SPEC, orjson.dumps(asdict(spec)))
        job.write_state(Lifecycle())
        self._index()[spec.id] = job
        return job

    def _index(self) -> dict[str, JobFiles]:
        """The jobs by id, oldest first: the directory is read once; the service alone adds
        and removes jobs after that, so a tick or a listing reads no file."""
        if self._jobs is None:
            jobs = [JobFiles(path) for path in self.root.iterdir()
                    if not path.name.startswith(DELETED) and (path / STATE).exists()]
            jobs.sort(key=lambda job: job.spec().created_at)
            self._jobs = {job.id: job for job in jobs}
        return self._jobs

    def get(self, job_id: str) -> JobFiles | None:
        return self._index().get(job_id)

    def all(self) -> list[JobFiles]:
        """Every job, oldest first."""
        return list(self._index().values())

    def forget(self, job: JobFiles) -> None:
        """Take the job out of the index (its directory stays until `remove`)."""
        self._index().pop(job.id, None)

    def remove(self, job: JobFiles) -> None:
        """Forget the job and delete its directory: renamed first (the step that commits the
        delete, atomic; a service killed after it deletes the rest when it starts), then
        removed."""
        self._index().pop(job.id, None)
        gone = job.root.with_name(f"{DELETED}{job.id}")
        with contextlib.suppress(FileNotFoundError):
            job.root.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)
