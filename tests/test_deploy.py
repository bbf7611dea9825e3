"""Deployment files: the compose job points at the image's real entry point with valid args."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from croniter import croniter

from crawler.cli.common import build_parser
from crawler.cli.schedule import SECONDS_ENV
from crawler.jobs.cron import cron_problem
from crawler.settings import FIELDS, load_settings
from tests.real_servers import require

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


def test_scheduled_service_runs_the_scheduler_with_valid_arguments() -> None:
    """The scheduled compose service is opt-in (a profile), restarts, and its command is
    `schedule CRON SEEDS ...` with a valid default cron expression and valid crawl arguments
    that keep the job on the mounted volume."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["crawl-scheduled"]
    assert service["profiles"] == ["scheduled"] and service["restart"] == "unless-stopped"
    command = service["command"]
    assert command[0] == "schedule"
    expression = re.fullmatch(r"\$\{CRAWLER_SCHEDULE:-(.+)\}", command[1]).group(1)
    assert croniter.is_valid(expression) and cron_problem(expression) is None
    args = vars(build_parser().parse_args(command[2:]))
    assert args["seeds"].startswith("/data/") and args["job_dir"].startswith("/data/")
    assert args["recrawl"] is True
    for name in service.get("environment", {}):
        assert name in ("TZ", SECONDS_ENV) or name[8:].lower() in FIELDS, name


def test_crontab_example_is_a_valid_entry_running_the_crawler() -> None:
    """config/crontab.example holds one valid crontab line whose command runs the crawler with
    valid arguments and the scheduled config file, which loads."""
    lines = [line for line in (ROOT / "config" / "crontab.example").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split()
    assert croniter.is_valid(" ".join(fields[:5]))
    command = " ".join(fields[5:]).split(">>")[0].split("-m crawler", 1)[1].split()
    args = vars(build_parser().parse_args(command))
    assert args["config"].name == "scheduled.toml"
    settings = load_settings(config_file=ROOT / "config" / "scheduled.toml")
    assert settings.recrawl_after > 0


def _compose_defaults(value: str) -> str:
    """A compose value with every ${NAME:-default} replaced by its default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_cluster_services_wire_seed_workers_redis_and_postgres() -> None:
    """The `cluster` profile: redis and postgres with healthchecks and volumes; `seed` waits for
    a healthy Redis and runs `seed SEEDS` on the mounted seeds; workers wait for both servers
    and a finished seed, and their environment alone makes valid worker settings that point at
    the redis and postgres services."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("redis", "postgres", "seed", "worker"):
        assert services[name]["profiles"] == ["cluster"], name
    for name in ("redis", "postgres"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in compose["volumes"]
    assert "--appendonly" in services["redis"]["command"]
    seed, worker = services["seed"], services["worker"]
    assert seed["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert worker["depends_on"] == {"redis": {"condition": "service_healthy"},
                                    "postgres": {"condition": "service_healthy"},
                                    "seed": {"condition": "service_completed_successfully"}}
    assert seed["command"][0] == "seed" and worker["command"] == ["worker"]
    seed_args = vars(build_parser(seeds=True).parse_args(seed["command"][1:]))
    assert seed_args["seeds"].startswith("/data/")
    assert any(v.endswith(":/data:ro") for v in seed["volumes"])
    environ = {k: _compose_defaults(str(v)) for k, v in worker["environment"].items()}
    assert vars(build_parser(seeds=False).parse_args([]))["config"] is None
    settings = load_settings({}, environ=environ)
    assert settings.frontier == "redis://redis:6379/0"
    assert settings.outputs == ("postgresql://crawler:crawler@postgres:5432/crawl",)
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "crawl"
    assert worker["restart"] == "on-failure" and worker["stop_grace_period"]


@pytest.mark.system
def test_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    """`docker-compose config` accepts the file with every profile (Debian's docker-compose)."""
    binary = shutil.which("docker-compose")
    require(binary is not None, "docker-compose")
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    result = subprocess.run(
        [str(binary), "--profile", "cluster", "--profile", "scheduled", "--profile", "service",
         "config", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_service_entry_serves_with_a_healthcheck_and_a_data_volume() -> None:
    """The `service` profile runs `serve` on the mounted data directory, publishes its port on
    loopback only, needs a token from the environment (it listens beyond loopback in the
    container), and its healthcheck asks /health on the port it listens on."""
    from crawler.service.server import build_parser as serve_parser
    from crawler.service.server import check_args

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["service"]
    assert service["profiles"] == ["service"] and service["command"][0] == "serve"
    args = serve_parser().parse_args(service["command"][1:])
    assert str(args.data_dir).startswith("/data/")
    assert any(v.endswith(":/data") for v in service["volumes"])
    port = args.listen.rsplit(":", 1)[1]
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"http://127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
    assert "CRAWLER_SERVICE_TOKEN" in service["environment"]
    assert check_args(args) is not None  # no token: refused
    args.token = "t"
    assert check_args(args) is None
