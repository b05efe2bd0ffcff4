"""fake-gcs-server helpers for tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattline.local.servers import ServerProcess


@dataclass
class FakeGcs:
    """A fake-gcs-server and its filesystem root (`<root>/<bucket>/<object>`)."""

    server: ServerProcess
    root: Path
    project: str = "wattline-local"

    @property
    def endpoint(self) -> str:
        return self.server.url

    def store(self, bucket: str) -> Any:
        from wattline.adapters.gcs_store import GcsObjectStore

        store = GcsObjectStore(bucket, project=self.project, endpoint=self.endpoint)
        store.ensure_bucket()
        return store
