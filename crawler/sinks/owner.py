"""Who owns an output file: a job never cuts back or deletes what another job wrote.

An append-only output (JSON Lines, CSV, and their items files; a WARC prefix and its serial
files) belongs to the job that first wrote it. The owner is named in a hidden file beside it,
`.NAME.owner` (the job's id and directory, as JSON). A resume cuts an output back to what the
job committed, and a WARC resume removes later files no commit covers; both would destroy
another job's records, so a job refuses (exit 2, one line) an output that another job, which
still exists, owns. An output whose owner is gone (its job directory removed or made anew)
is taken over, and so is a file no job claims.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from crawler.errors import UsageError
from crawler.util.atomicfile import write_atomically

SHARED_SUFFIXES = (".db", ".sqlite", ".sqlite3")  # upserts by (url, run): no cut-back, shared


def owner_file(output: Path) -> Path:
    return output.with_name(f".{output.name}.owner")


def claimed_outputs(outputs: tuple[str, ...]) -> list[Path]:
    """The `-o` targets that are append-only files (not SQLite files, not PostgreSQL URLs)."""
    return [Path(target) for target in outputs
            if "://" not in target and not target.lower().endswith(SHARED_SUFFIXES)]


def job_id_in(job_dir: Path) -> str | None:
    """The id of the job in `job_dir`, or None when there is none (or it cannot be read)."""
    path = job_dir / "crawl.db"
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'job_id'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def claim_outputs(outputs: tuple[str, ...], job_id: str, job_dir: Path,
                  check_only: bool = False) -> None:
    """Make this job the owner of each file output, or raise UsageError for one that another
    existing job owns; `check_only`: raise the same, but write nothing."""
    for output in claimed_outputs(outputs):
        claim(output, job_id, job_dir, check_only)


def claim(output: Path, job_id: str, job_dir: Path, check_only: bool = False) -> None:
    marker = owner_file(output)
    try:
        owner = orjson.loads(marker.read_bytes())
    except FileNotFoundError:
        owner = None
    except (OSError, orjson.JSONDecodeError):
        owner = None  # unreadable: nobody we can name owns it
    if isinstance(owner, dict) and owner.get("job_id") == job_id:
        return
    if isinstance(owner, dict) and isinstance(owner.get("job_dir"), str) and \
            job_id_in(Path(owner["job_dir"])) == owner.get("job_id"):
        raise UsageError(
            f"output {output} belongs to the job in {owner['job_dir']}; this job "
            f"({job_dir}) does not write into another job's output, whose resume would cut "
            "its records off: give this job its own -o")
    if check_only:
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(marker, orjson.dumps(
            {"job_id": job_id, "job_dir": str(job_dir.absolute())}) + b"\n")
    except OSError as exc:
        raise UsageError(f"cannot use output {output}: {exc.strerror or exc}") from None
