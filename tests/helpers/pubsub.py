"""Pub/Sub emulator helpers for tests."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def emulator_env(address: str) -> Iterator[None]:
    """PUBSUB_EMULATOR_HOST set only while a client is built (clients read it in their constructor)."""
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous
