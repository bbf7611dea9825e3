"""The locks agree with pyproject.toml: every dependency (and test tool) is pinned in its lock
at a version pyproject allows, with hashes; setup and the Docker image install from them."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version \\` (or `name[extras]==version`) line; each must
    carry a --hash."""
    text = lock.read_text()
    found = dict(re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)", text, re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+(?:\[[^\]]*\])?==)", text)
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


def test_a_dependency_asked_for_with_extras_is_locked_with_them() -> None:
    """pip before 24 (Debian 12's, and Python 3.11's ensurepip) reads `python-socks[asyncio]>=2.4`
    from aiohttp-socks as a requirement the lock does not pin, takes the newest release for it and
    refuses the whole hash-checked install: a fresh machine's setup broke the day python-socks
    3.2.2 came out. Read from the installed packages (the test lock's versions): each such
    dependency must be pinned with its extras, which scripts/lock.sh adds (`with_extras`)."""
    environment = {**default_environment(), "python_version": "3.11", "extra": ""}
    for lock in ("crawl.lock", "test.lock"):
        text = (ROOT / "requirements" / lock).read_text()
        locked = {canonicalize_name(name): set(re.findall(r"[^,\s]+", extras or ""))
                  for name, extras in re.findall(
                      r"^([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==", text, re.M)}
        for name in locked:
            try:
                requires = distribution(name).requires or []
            except PackageNotFoundError:  # only on another platform or Python (markers)
                continue
            for line in requires:
                requirement = Requirement(line)
                if not requirement.extras or (
                        requirement.marker and not requirement.marker.evaluate(environment)):
                    continue
                target = canonicalize_name(requirement.name)
                extras = {canonicalize_name(extra) for extra in requirement.extras}
                if target in locked:
                    have = {canonicalize_name(extra) for extra in locked[target]}
                    spelled = f"{requirement.name}[{','.join(sorted(requirement.extras))}]"
                    assert extras <= have, (
                        f"requirements/{lock}: {name} asks for {requirement}; add "
                        f"\"{spelled}\" to with_extras in scripts/lock.sh and run it")


def test_setup_and_the_image_install_from_the_locks() -> None:
    setup = (ROOT / "scripts" / "setup-venv.sh").read_text()
    assert "--require-hashes -r \"$lock\"" in setup and "requirements/test.lock" in setup
    assert "--require-hashes -r requirements/crawl.lock" in (ROOT / "Dockerfile").read_text()
