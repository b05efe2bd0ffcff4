"""ObjectStore in memory: a dict of bytes. For tests and for tools that need a scratch bucket."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterator

from wattline.adapters.objects import info_of, infos_by_head
from wattline.errors import NotFoundError, PreconditionFailedError
from wattline.ports import ObjectInfo


class MemoryObjectStore:
    """A thread-safe in-memory bucket with the same semantics as the S3 and filesystem stores."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self.objects[key]
            except KeyError as exc:
                raise NotFoundError(f"{self.name}/{key} does not exist") from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_absent: bool = False,
    ) -> ObjectInfo:
        with self._lock:
            if if_absent and key in self.objects:
                raise PreconditionFailedError(f"{self.name}/{key} already exists")
            self.objects[key] = bytes(data)
        return info_of(key, data)

    def head(self, key: str) -> ObjectInfo | None:
        with self._lock:
            data = self.objects.get(key)
        if data is None:
            return None
        return info_of(key, data)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        yield from infos_by_head(self, self.list_keys(prefix))

    def list_keys(self, prefix: str) -> builtins.list[str]:
        with self._lock:
            return sorted(key for key in self.objects if key.startswith(prefix))

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)
