"""Running a wattline.local.servers server inside a pytest fixture."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from wattline.local.servers import ServerMissingError, ServerProcess


@contextlib.contextmanager
def running(start: Callable[[], ServerProcess]) -> Iterator[ServerProcess]:
    """The started server, stopped (by its process group) on exit; skips the test with the reason when the
    server's binary is missing."""
    try:
        server = start()
    except ServerMissingError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
