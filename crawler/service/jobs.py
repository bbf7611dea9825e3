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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from crawler.atomicfile import write_atomically
from crawler.records import now_iso

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
        return JobSpec(**orjson.loads((self.root / SPEC).read_bytes()))

    def state(self) -> Lifecycle:
        return Lifecycle(**orjson.loads((self.root / STATE).read_bytes()))

    def write_state(self, state: Lifecycle) -> None:
        write_atomically(self.root / STATE, orjson.dumps(asdict(state)))

    def live(self) -> dict[str, Any] | None:
        """The crawl's last status file, if it wrote one."""
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            return orjson.loads(self.status_path.read_bytes())
        return None

    def report(self) -> dict[str, Any] | None:
        """The crawl's last run report (report.json), if a run ended."""
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            return orjson.loads(self.report_path.read_bytes())
        return None


class JobStore:
    """The jobs under DATA_DIR/jobs."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self, spec: JobSpec, files: dict[str, bytes]) -> JobFiles:
        """Write a new job: its spec, its queued state and `files` (the rules, by name); a
        half-written job (a crash) has no state.json and is never listed."""
        job = JobFiles(self.root / spec.id)
        job.root.mkdir()
        for name, data in files.items():
            (job.root / name).write_bytes(data)
        write_atomically(job.root / SPEC, orjson.dumps(asdict(spec)))
        job.write_state(Lifecycle())
        return job

    def get(self, job_id: str) -> JobFiles | None:
        if not job_id.isalnum():
            return None
        job = JobFiles(self.root / job_id)
        return job if (job.root / STATE).exists() else None

    def all(self) -> list[JobFiles]:
        """Every job, oldest first."""
        jobs = [JobFiles(path) for path in self.root.iterdir() if (path / STATE).exists()]
        return sorted(jobs, key=lambda job: job.spec().created_at)

    def remove(self, job: JobFiles) -> None:
        shutil.rmtree(job.root, ignore_errors=True)
