"""The suite's own guard: a test that leaves a process running fails the run, named, and the
process is killed, so pytest ends by itself."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.leftovers import descendants

ROOT = Path(__file__).resolve().parent.parent


def test_a_process_left_behind_fails_the_run_and_names_its_test(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    (tmp_path / "test_leak.py").write_text(
        "import subprocess\n\n\n"
        "def test_leaks_a_sleeper():\n"
        "    sleeper = subprocess.Popen(['sleep', '300'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(sleeper.pid))\n\n\n"
        "def test_cleans_up():\n"
        "    subprocess.run(['true'], check=True)\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "-p", "no:cacheprovider", str(tmp_path / "test_leak.py")],
                          cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "LEFTOVER PROCESS left behind by test_leak.py::test_leaks_a_sleeper" in done.stdout
    assert "sleep 300" in done.stdout
    sleeper = int(pid_file.read_text())
    for _ in range(100):  # killed: gone once the kernel has finished it
        if sleeper not in descendants(1):
            break
        time.sleep(0.05)
    assert sleeper not in descendants(1)
