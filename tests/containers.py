"""A container engine for the tests: Debian's podman with runc, and a local stand-in for the
`python:3.11-slim` base image, since no image registry can be reached from here.

- podman's system containers.conf gets `runtime = "runc"` (crun fails on this machine's hybrid
  cgroups) and `default_ulimits = []`.
- The stand-in: a minimal Debian bookworm with python3 and python3-venv (debootstrap, from the
  machine's own Debian mirror), imported, then `python3 -m venv /usr/local` so that `python` and
  `pip` are on PATH as in the official image. Made once; later runs find it.
- Builds mount the host's CA bundle read-only, so pip inside reaches the package index the way
  the host's pip does. Containers use the host's network: they reach loopback test sites, and
  nothing else is started for them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.real_servers import require

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "docker.io/library/python:3.11-slim"
ROOTFS_IMAGE = "localhost/debian-bookworm-python:base"
CRAWLER_IMAGE = "localhost/crawler:latest"
REDIS_STANDIN = "localhost/redis-standin:7"
POSTGRES_STANDIN = "localhost/postgres-standin:15"
CONTAINERS_CONF = Path("/etc/containers/containers.conf")
CA_BUNDLE = "/etc/ssl/certs"
STANDIN = f"""FROM {ROOTFS_IMAGE}
RUN python3 -m venv /usr/local && /usr/local/bin/python --version
ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["python3"]
"""


def podman(*args: str, timeout: float = 600, check: bool = True,
           **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)  # type: ignore[call-overload]
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.stderr[-3000:]}")
    return done


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (its sources, in either format); an
    AssertionError in one line when apt names none."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob(
        "*.sources")), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for source in sources:
        if source.exists():
            found = re.search(r"(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(https?://\S+/debian)\b",
                              source.read_text())
            if found:
                return found.group(1)
    raise AssertionError("no Debian mirror in apt's sources (/etc/apt/sources.list, "
                         "/etc/apt/sources.list.d): debootstrap needs one")


def configure_podman() -> None:
    text = CONTAINERS_CONF.read_text() if CONTAINERS_CONF.exists() else ""
    if 'runtime = "runc"' in text:
        return
    require(os.geteuid() == 0, "a podman configured for runc (/etc/containers/containers.conf; "
                               "the tests write it as root)")
    CONTAINERS_CONF.parent.mkdir(parents=True, exist_ok=True)
    CONTAINERS_CONF.write_text('[containers]\ndefault_ulimits = []\n\n[engine]\n'
                               'runtime = "runc"\n')


def ensure_base_image() -> None:
    """The Debian root file system image (the stand-ins for Redis and PostgreSQL are built
    from it) and, on it, the stand-in for python:3.11-slim: each made when it is missing,
    whichever of them another run left behind."""
    if podman("image", "exists", ROOTFS_IMAGE, check=False).returncode != 0:
        require(shutil.which("debootstrap") is not None and os.geteuid() == 0,
                "debootstrap, run as root (the stand-in base image is made with it)")
        with tempfile.TemporaryDirectory() as rootfs:
            subprocess.run(["debootstrap", "--variant=minbase",
                            "--include=python3,python3-venv,ca-certificates", "bookworm",
                            rootfs, debian_mirror()], check=True, capture_output=True,
                           timeout=900)
            tarball = Path(rootfs).parent / (Path(rootfs).name + ".tar")
            try:
                subprocess.run(["tar", "-C", rootfs, "-cf", str(tarball), "."], check=True,
                               timeout=300)
                podman("import", str(tarball), ROOTFS_IMAGE)
            finally:
                tarball.unlink(missing_ok=True)
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Containerfile").write_text(STANDIN)
        podman("build", "--network", "host", "-t", BASE_IMAGE, context)


def engine() -> None:
    """podman, configured, with the base image: else the test fails in CI (skips elsewhere)."""
    require(shutil.which("podman") is not None and shutil.which("runc") is not None,
            "podman and runc (scripts/system-deps.sh installs them)")
    configure_podman()
    ensure_base_image()


def build_crawler_image() -> subprocess.CompletedProcess[str]:
    """`podman build` of the project's Dockerfile, as a user would run `docker build`."""
    return podman("build", "--network", "host", "-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro",
                  "--env", f"PIP_CERT={CA_BUNDLE}/ca-certificates.crt", "-t", CRAWLER_IMAGE,
                  str(ROOT), timeout=900)


def build_standins() -> None:
    """Stand-ins for the cluster's redis:7.2-alpine and postgres:15-alpine, from Debian's
    packages (tests/standins), made once."""
    for image, folder in ((REDIS_STANDIN, "redis"), (POSTGRES_STANDIN, "postgres")):
        if podman("image", "exists", image, check=False).returncode != 0:
            podman("build", "--network", "host", "-t", image,
                   str(ROOT / "tests" / "standins" / folder), timeout=900)
