"""The service's settings: one pydantic-settings model, read from the environment once (at the first invocation)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field

from wattline.archive import StorageClass
from wattline.settings import S3BucketSettings

if TYPE_CHECKING:
    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.adapters.s3_store import S3ObjectStore

SERVICE = "aws-archiver"
METRICS_NAMESPACE = "wattline"


class ArchiverSettings(S3BucketSettings):
    """Environment: WATTLINE_BUCKET (required), WATTLINE_S3_ENDPOINT_URL, AWS_REGION, WATTLINE_MAX_ATTEMPTS
    (S3BucketSettings'), WATTLINE_ARCHIVE_STORAGE_CLASS, WATTLINE_ARCHIVE_MIN_AGE_DAYS,
    WATTLINE_ARCHIVE_LOOKBACK_DAYS, WATTLINE_ARCHIVE_CONCURRENCY."""

    archive_storage_class: StorageClass = Field(StorageClass.GLACIER, description="GLACIER or DEEP_ARCHIVE")
    archive_min_age_days: int = Field(2, ge=0, le=365, description="keep this many recent UTC days in raw/")
    archive_lookback_days: int = Field(7, ge=0, le=400, description="older days the schedule still checks")
    archive_concurrency: int = Field(32, ge=1, le=64, description="raw objects read and deleted in parallel")


@lru_cache(maxsize=1)
def get_settings() -> ArchiverSettings:
    """Validated once per execution environment (cold start), on first use — never at import time."""
    return ArchiverSettings()  # values come from the environment


@lru_cache(maxsize=1)
def get_stores() -> tuple[S3ObjectStore, S3BundleStore]:
    """The data bucket as an ObjectStore and as a BundleStore (one shared boto3 client), built once."""
    from wattline.adapters.s3_bundles import S3BundleStore

    settings = get_settings()
    store = settings.s3_store()
    return store, S3BundleStore(store.client, settings.bucket)
