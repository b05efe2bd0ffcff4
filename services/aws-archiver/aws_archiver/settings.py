"""The service's settings: one model read from the environment (wattline.env_settings) at the first invocation."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from wattline.archive_stage import ArchiverSettings

if TYPE_CHECKING:
    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.adapters.s3_store import S3ObjectStore

SERVICE = "aws-archiver"
METRICS_NAMESPACE = "wattline"

__all__ = ["METRICS_NAMESPACE", "SERVICE", "ArchiverSettings", "get_settings", "get_stores"]


@lru_cache(maxsize=1)
def get_settings() -> ArchiverSettings:
    """Validated once per execution environment (cold start), on first use — never at import time. The model is
    wattline.archive_stage.ArchiverSettings (WATTLINE_BUCKET, WATTLINE_ARCHIVE_*), as `wattline archive` reads."""
    return ArchiverSettings()  # values come from the environment


@lru_cache(maxsize=1)
def get_stores() -> tuple[S3ObjectStore, S3BundleStore]:
    """The data bucket as an ObjectStore and as a BundleStore (one shared boto3 client), built once."""
    from wattline.adapters.s3_bundles import S3BundleStore

    settings = get_settings()
    store = settings.s3_store()
    return store, S3BundleStore(store.client, settings.bucket)
