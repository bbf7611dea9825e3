"""Deployment files: the compose job points at the image's real entry point with valid args."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from crawler.cli import build_parser
from crawler.settings import FIELDS

ROOT = Path(__file__).parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(m.group(1).upper(), m.group(2).strip())
            for m in re.finditer(r"^(\w+)\s+(.*)$", text, re.MULTILINE)]


def test_image_runs_the_crawler_module_as_non_root() -> None:
    """The final stage's ENTRYPOINT is `python -m crawler` and its USER is not root."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    final = instructions[last_from:]
    entrypoint = [json.loads(arg) for op, arg in final if op == "ENTRYPOINT"]
    assert entrypoint == [["python", "-m", "crawler"]]
    assert (ROOT / "crawler" / "__main__.py").is_file()
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert not any("gcc" in arg or "build-essential" in arg for op, arg in final if op == "RUN")


def test_compose_job_builds_this_image_and_passes_valid_arguments() -> None:
    """The compose service builds ./Dockerfile, mounts /data, and its command parses as our CLI
    arguments with the seeds file and the outputs inside the mounted volume."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["crawl"]
    assert service["build"] == "." and (ROOT / "Dockerfile").is_file()
    mounts = [v.split(":")[1] for v in service["volumes"]]
    assert "/data" in mounts
    args = vars(build_parser().parse_args(service["command"]))
    assert args["seeds"].startswith("/data/")
    assert args["job_dir"].startswith("/data/")
    assert all(o.startswith("/data/") for o in args["outputs"])
    for name in service.get("environment", {}):
        assert name.startswith("CRAWLER_") and name[8:].lower() in FIELDS, name
