"""Settings: one model read from the environment (prefix WATTLINE_, wattline.env_settings), validated once at start.

Logic never reads os.environ: it receives a Settings (or the values it needs) as a parameter.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, ConfigDict, Field, field_validator

from wattline import defaults
from wattline.env_settings import EnvSettings, NoDecode
from wattline.solar import CHANNELS_FORM, ChannelKey, ChannelRole, channel_key_text, parse_channel_roles

if TYPE_CHECKING:
    from wattline.adapters.s3_store import S3ObjectStore


class IntegrationMethod(StrEnum):
    AUTO = "auto"
    COUNTER = "counter"
    TRAPEZOID = "trapezoid"
    LOCF = "locf"


class Settings(EnvSettings):
    """Site-wide settings. Every field can be set as WATTLINE_<NAME> or in `<home>/wattline.toml`."""

    model_config = ConfigDict(extra="ignore")
    env_prefix = "WATTLINE_"

    home: Path = Field(Path(".wattline"), description="where local state lives (buckets, warehouse, outbox)")
    timezone: str = Field(defaults.TIMEZONE, description="the site's IANA time zone: local days and tariff hours")
    tariff: str = Field("ua-2zone", description="tariff preset name or path of a tariff TOML file")
    integration_method: IntegrationMethod = IntegrationMethod.AUTO
    max_gap_seconds: float = Field(defaults.MAX_GAP_S, gt=0, description="a longer interval between samples is a gap")
    max_power_w: float = Field(
        defaults.MAX_POWER_W, gt=0, description="plausibility limit for counter jumps and values"
    )
    rated_max_power_w: float = Field(11_000.0, gt=0, description="alert when power exceeds the meter's rating")
    max_import_bytes: int = Field(
        4 * 1024**3, gt=0, description="`wattline import` refuses a file larger than this once decompressed (bytes)"
    )
    # NoDecode: the environment form is `dev:0=grid,dev:1=solar`, not JSON; the validator reads both forms.
    channels: Annotated[dict[str, ChannelRole], NoDecode] = Field(
        default_factory=dict,
        description=f"channel roles grid, solar, solar+ or load ({CHANNELS_FORM}); unlisted channels are grid",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Kyiv") from exc
        return value

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_roles(cls, value: Any) -> dict[str, ChannelRole]:
        # Keys normalised to `device:channel` once, here; logic reads `channel_roles`.
        return {channel_key_text(key): role for key, role in parse_channel_roles(value).items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def channel_roles(self) -> dict[ChannelKey, ChannelRole]:
        """The `channels` setting keyed by (device_id, channel)."""
        return parse_channel_roles(dict(self.channels))


class S3BucketSettings(EnvSettings):
    """The data bucket of an AWS service (env prefix WATTLINE_): WATTLINE_BUCKET (required),
    WATTLINE_S3_ENDPOINT_URL, AWS_REGION (set by Lambda), WATTLINE_MAX_ATTEMPTS. Services subclass it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    env_prefix = "WATTLINE_"

    bucket: str = Field(
        min_length=3, max_length=63, description="the data bucket holding raw/, daily/, state/, archive/"
    )
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (moto, LocalStack); unset on AWS")
    region: str = Field(
        validation_alias=AliasChoices("WATTLINE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "region"),
        description="AWS region (Lambda sets AWS_REGION)",
    )
    max_attempts: int = Field(5, ge=1, le=20, description="botocore adaptive-retry attempts per S3 call")

    def __init__(self, /, **values: Any) -> None:
        # The environment supplies `bucket` and `region`: without this signature the pydantic mypy plugin would
        # require them as arguments (it generates one for every model class that does not define its own).
        super().__init__(**values)

    def s3_store(self, bucket: str | None = None) -> S3ObjectStore:
        """An S3 store of `bucket` (default: the data bucket) with these endpoint, region and retry settings."""
        from wattline.adapters.s3_store import S3ObjectStore

        return S3ObjectStore(
            bucket or self.bucket, endpoint_url=self.s3_endpoint_url, region=self.region, max_attempts=self.max_attempts
        )


def load_toml_overrides(home: Path) -> dict[str, Any]:
    """Values from `<home>/wattline.toml`, if the file exists (environment variables still win)."""
    path = home / "wattline.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, validated once (cold start)."""
    return Settings()
