"""The service's settings: one model read from the environment (wattline.env_settings) at the first invocation."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from wattline.settings import S3BucketSettings
from wattline.stages import AggregationSettings

if TYPE_CHECKING:
    from wattline.adapters.s3_store import S3ObjectStore

SERVICE = "aws-aggregator"
METRICS_NAMESPACE = "wattline"


class AggregatorSettings(S3BucketSettings, AggregationSettings):
    """Environment: WATTLINE_BUCKET (required), WATTLINE_S3_ENDPOINT_URL, AWS_REGION (set by Lambda),
    WATTLINE_MAX_ATTEMPTS (S3BucketSettings'), and the aggregation settings every runtime shares
    (wattline.stages.AggregationSettings: WATTLINE_GRACE_HOURS, _LOOKBACK_DAYS, _CONCURRENCY, _DEDUP_WINDOW_MS)."""

    def __init__(self, /, **values: Any) -> None:  # required fields from the environment (S3BucketSettings')
        super().__init__(**values)


@lru_cache(maxsize=1)
def get_settings() -> AggregatorSettings:
    """Validated once per execution environment (cold start), on first use — never at import time."""
    return AggregatorSettings()  # values come from the environment


@lru_cache(maxsize=8)
def get_store(bucket: str | None = None) -> S3ObjectStore:
    """The S3 store of `bucket` (default: the configured data bucket), built once per bucket."""
    return get_settings().s3_store(bucket)
