"""In-memory fakes of the ports, shared by the tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping


class MemoryPublisher:
    """The Publisher port in memory: records (topic, data, attributes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, dict[str, str]]] = []
        self._ids = itertools.count(1)

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        self.messages.append((topic, data, dict(attributes or {})))
        return str(next(self._ids))
