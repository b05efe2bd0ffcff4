"""Adapters for the loader, built lazily from LoaderSettings and cached for the instance's lifetime."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from gcp_loader.settings import LoaderSettings
from wattline.loader import LoaderOptions
from wattline.ports import ObjectStore, Publisher, Warehouse


@dataclass
class Deps:
    settings: LoaderSettings
    _stores: dict[str, ObjectStore] = field(default_factory=dict)

    @cached_property
    def options(self) -> LoaderOptions:
        return self.settings.options()

    def store(self, bucket: str) -> ObjectStore:
        """The ObjectStore of one bucket (events name their bucket)."""
        if bucket not in self._stores:
            if self.settings.storage == "fs":
                from wattline.adapters.fs_store import FsObjectStore

                assert self.settings.fs_root is not None  # checked by the settings validator
                self._stores[bucket] = FsObjectStore(self.settings.fs_root / bucket, name=bucket)
            else:
                from wattline.adapters.gcs_store import GcsObjectStore

                self._stores[bucket] = GcsObjectStore(
                    bucket, project=self.settings.gcp_project, endpoint=self.settings.gcs_endpoint
                )
        return self._stores[bucket]

    @cached_property
    def warehouse(self) -> Warehouse:
        from wattline.warehouse import open_warehouse

        return open_warehouse(self.settings)

    @cached_property
    def publisher(self) -> Publisher:
        from wattline.adapters.pubsub import open_publisher

        s = self.settings
        return open_publisher(s.publisher, project=s.gcp_project, outbox_dir=s.outbox_dir or s.home / "outbox")


@lru_cache(maxsize=1)
def get_deps() -> Deps:
    """Validated once per instance (cold start); a bad setting fails here with a message saying what to set."""
    return Deps(LoaderSettings())
