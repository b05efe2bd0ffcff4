"""The service's settings: one pydantic-settings model, read from the environment once (at the first invocation)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field

from wattline.settings import S3BucketSettings

if TYPE_CHECKING:
    from wattline.adapters.s3_store import S3ObjectStore

SERVICE = "aws-aggregator"
METRICS_NAMESPACE = "wattline"


class AggregatorSettings(S3BucketSettings):
    """Environment: WATTLINE_BUCKET (required), WATTLINE_S3_ENDPOINT_URL, AWS_REGION (set by Lambda),
    WATTLINE_MAX_ATTEMPTS (S3BucketSettings'), WATTLINE_GRACE_HOURS, WATTLINE_LOOKBACK_DAYS, WATTLINE_CONCURRENCY,
    WATTLINE_DEDUP_WINDOW_MS."""

    grace_hours: float = Field(2.0, ge=0, le=72, description="wait this long after UTC midnight before a day is closed")
    lookback_days: int = Field(7, ge=1, le=400, description="how many closed days plan looks back for missing files")
    concurrency: int = Field(16, ge=1, le=64, description="raw objects read in parallel by aggregate")
    dedup_window_ms: int = Field(2_000, ge=0, le=60_000, description="redelivery window, no device time")


@lru_cache(maxsize=1)
def get_settings() -> AggregatorSettings:
    """Validated once per execution environment (cold start), on first use — never at import time."""
    return AggregatorSettings()  # values come from the environment


@lru_cache(maxsize=8)
def get_store(bucket: str | None = None) -> S3ObjectStore:
    """The S3 store of `bucket` (default: the configured data bucket), built once per bucket."""
    return get_settings().s3_store(bucket)
