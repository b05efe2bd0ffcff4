"""One writer per home: an OS file lock (flock) on `<home>/lock`, held while a command writes to the home.

The kernel releases it when the process ends, however it ends (SIGKILL included), so a crash never leaves a home
locked. Readers (`status`, `energy`, `alerts`, `report`) take no lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from wattline.errors import PermanentError


class HomeBusyError(PermanentError):
    """Another process holds the home's lock."""


class HomeLock:
    """`acquire(wait=False)` raises HomeBusyError at once when another process writes to the home; `wait=True`
    blocks until it is done. Re-entrant within one process."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = False) -> HomeLock:
        if self._fd is not None:
            return self
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HomeBusyError(
                f"{self.home} is being written by another wattline process (pid {holder}): wait for it to finish, "
                "or run again with --wait"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
