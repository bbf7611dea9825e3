"""`python crawler/render/launch.py READ_FD WRITE_FD PARENT_PID CHROMIUM [ARGS...]`: start
Chromium with the DevTools pipe on its fds 3 and 4, killed by the kernel when the crawl that
started it dies (PR_SET_PDEATHSIG survives exec), in its own process group.

A separate program rather than a `preexec_fn`, which is not safe in a process with threads."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    read_fd, write_fd, parent = int(argv[0]), int(argv[1]), int(argv[2])
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the crawl died before the request took effect
        os._exit(1)
    # copies above 9 first, so that moving one pipe end to 3 or 4 never overwrites the other
    high_read = fcntl.fcntl(read_fd, fcntl.F_DUPFD_CLOEXEC, 10)
    high_write = fcntl.fcntl(write_fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.dup2(high_read, 3)  # inheritable, so Chromium gets them
    os.dup2(high_write, 4)
    for fd in {read_fd, write_fd, high_read, high_write} - {3, 4}:
        os.close(fd)
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    main(sys.argv[1:])
