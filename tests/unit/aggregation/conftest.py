from __future__ import annotations

from pathlib import Path

import pytest

from wattline.adapters.fs_store import FsObjectStore
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.ports import ObjectStore


@pytest.fixture(params=["fs", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """The domain runs the same on a directory bucket and an in-memory bucket."""
    if request.param == "fs":
        return FsObjectStore(tmp_path / "bucket")
    return MemoryObjectStore()
