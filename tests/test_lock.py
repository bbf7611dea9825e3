"""The locks agree with pyproject.toml: every dependency (and test tool) is pinned in its lock
at a version pyproject allows, with hashes; setup and the Docker image install from them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version \\` line; each must carry a --hash."""
    text = lock.read_text()
    found = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", text, re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, block.split("\n", 1)[0]
    return {canonicalize_name(name): version for name, version in found.items()}


def wanted(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    if extra:
        names += project["optional-dependencies"][extra]
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    return [Requirement(name) for name in [*names, *build]]


def test_each_lock_pins_what_pyproject_asks_for_with_hashes() -> None:
    """A dependency added to pyproject.toml, or a bound raised past the locked version, fails
    here until scripts/lock.sh is run again."""
    environment = {**default_environment(), "python_version": "3.11"}
    for lock, extra in (("crawl.lock", None), ("test.lock", "test")):
        pinned = pins(ROOT / "requirements" / lock)
        for requirement in wanted(extra):
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirement} is not in requirements/{lock}"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"requirements/{lock} pins {name}=={pinned[name]}, pyproject asks {requirement}")


def test_the_test_lock_keeps_the_crawl_locks_versions() -> None:
    crawl, test = pins(ROOT / "requirements" / "crawl.lock"), pins(
        ROOT / "requirements" / "test.lock")
    assert {name: test.get(name) for name in crawl} == crawl


def test_setup_and_the_image_install_from_the_locks() -> None:
    setup = (ROOT / "scripts" / "setup-venv.sh").read_text()
    assert "--require-hashes -r \"$lock\"" in setup and "requirements/test.lock" in setup
    assert "--require-hashes -r requirements/crawl.lock" in (ROOT / "Dockerfile").read_text()
