"""Fault injection for the crash tests, loaded into a `wattline` subprocess through PYTHONPATH (never in production).

WATTLINE_TEST_FAULT_AT=N makes the N-th file-system write step of the process (os.replace, os.link, os.unlink:
every atomic object write, queue entry and acknowledgement of the local runtime) fail; WATTLINE_TEST_FAULT=kill
(default) SIGKILLs the process just before that step, `enospc` raises OSError(ENOSPC) instead. Without the variable
nothing is changed. WATTLINE_TEST_FAULT_COUNT=path appends the number of steps taken when the process exits.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal

_AT = int(os.environ.get("WATTLINE_TEST_FAULT_AT", "0") or 0)
_MODE = os.environ.get("WATTLINE_TEST_FAULT", "kill")
_COUNT_FILE = os.environ.get("WATTLINE_TEST_FAULT_COUNT")
_steps = 0


def _step() -> None:
    global _steps
    _steps += 1
    if _steps == _AT:
        if _MODE == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(name: str) -> None:
    original = getattr(os, name)

    def faulty(*args, **kwargs):  # type: ignore[no-untyped-def]
        _step()
        return original(*args, **kwargs)

    setattr(os, name, faulty)


if _AT or _COUNT_FILE:
    for _name in ("replace", "link", "unlink"):
        _wrap(_name)
if _COUNT_FILE:
    atexit.register(lambda: open(_COUNT_FILE, "a").write(f"{_steps}\n"))  # noqa: SIM115
