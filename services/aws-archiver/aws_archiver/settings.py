"""The service's settings: one pydantic-settings model, read from the environment once (at the first invocation)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattline.archive import StorageClass

if TYPE_CHECKING:
    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.adapters.s3_store import S3ObjectStore

SERVICE = "aws-archiver"
METRICS_NAMESPACE = "wattline"


class ArchiverSettings(BaseSettings):
    """Environment: WATTLINE_BUCKET (required), WATTLINE_ARCHIVE_STORAGE_CLASS, WATTLINE_ARCHIVE_MIN_AGE_DAYS,
    WATTLINE_ARCHIVE_LOOKBACK_DAYS, WATTLINE_ARCHIVE_CONCURRENCY, WATTLINE_S3_ENDPOINT_URL, AWS_REGION."""

    model_config = SettingsConfigDict(env_prefix="WATTLINE_", extra="ignore", populate_by_name=True)

    bucket: str = Field(min_length=3, max_length=63, description="the data bucket holding raw/, daily/, archive/")
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (moto); unset on AWS")
    region: str = Field(
        validation_alias=AliasChoices("WATTLINE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "region"),
        description="AWS region (Lambda sets AWS_REGION)",
    )
    archive_storage_class: StorageClass = Field(StorageClass.GLACIER, description="GLACIER or DEEP_ARCHIVE")
    archive_min_age_days: int = Field(2, ge=0, le=365, description="keep this many recent UTC days in raw/")
    archive_lookback_days: int = Field(7, ge=0, le=400, description="older days the schedule still checks")
    archive_concurrency: int = Field(32, ge=1, le=64, description="raw objects read and deleted in parallel")
    max_attempts: int = Field(5, ge=1, le=20, description="botocore adaptive-retry attempts per S3 call")


@lru_cache(maxsize=1)
def get_settings() -> ArchiverSettings:
    """Validated once per execution environment (cold start), on first use — never at import time."""
    return ArchiverSettings()  # values come from the environment


@lru_cache(maxsize=1)
def get_stores() -> tuple[S3ObjectStore, S3BundleStore]:
    """The data bucket as an ObjectStore and as a BundleStore (one shared boto3 client), built once."""
    from wattline.adapters.s3_bundles import S3BundleStore
    from wattline.adapters.s3_store import S3ObjectStore

    settings = get_settings()
    store = S3ObjectStore(
        settings.bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.region,
        max_attempts=settings.max_attempts,
    )
    return store, S3BundleStore(store.client, settings.bucket)
