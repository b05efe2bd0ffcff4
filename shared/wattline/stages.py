"""One composition per stage: the settings each stage's handler is built from, shared by the cloud entry modules
and the local runtime, so the same `WATTLINE_*` names give the same behaviour deployed and on a home.

- aggregation (AWS `plan`/`aggregate` Lambdas, local `schedule`/`aggregate` events): `AggregationSettings`;
- the loader (GCS-finalize Cloud Function, local `storage` events): `LoaderSettings`;
- detection and the subscribers (Cloud Functions, local `pubsub` events): `wattline.alerts.settings.AlertSettings`;
- the archiver (AWS `archive` Lambda, local `archive` events, `wattline archive` / `wattline restore` on a home or a
  bucket): `ArchiveSettings` (+ `S3BucketSettings` as `ArchiverSettings` on S3), run by `run_archive` and
  `run_restore`, the stage's one composition.

Each default lives here once; the handlers, `--help` and docs read it from the model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattline.archive import (
    ArchiveResult,
    BundleStore,
    RestoreResult,
    RestoreStatus,
    StorageClass,
    archive_day,
    archive_due,
    days_between,
    restore_day,
    restore_status,
)
from wattline.loader import LoaderOptions
from wattline.settings import S3BucketSettings
from wattline.warehouse.settings import WarehouseSettings

if TYPE_CHECKING:
    from wattline.ports import ObjectStore


class AggregationSettings(BaseSettings):
    """WATTLINE_GRACE_HOURS, WATTLINE_LOOKBACK_DAYS, WATTLINE_CONCURRENCY, WATTLINE_DEDUP_WINDOW_MS."""

    model_config = SettingsConfigDict(env_prefix="WATTLINE_", extra="ignore")

    grace_hours: float = Field(2.0, ge=0, le=72, description="wait this long after UTC midnight before a day is closed")
    lookback_days: int = Field(7, ge=1, le=400, description="how many closed days plan looks back for missing files")
    concurrency: int = Field(16, ge=1, le=64, description="raw objects read in parallel by aggregate")
    dedup_window_ms: int = Field(2_000, ge=0, le=60_000, description="redelivery window, no device time")

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.grace_hours)


class LoaderSettings(WarehouseSettings):
    """The warehouse fields (WATTLINE_GCP_PROJECT, _BQ_DATASET, _BQ_ENDPOINT, _BUCKET, _FS_ROOT, _DUCKDB_PATH, ...)
    are WarehouseSettings'; `bucket`, when set, also makes the loader ignore events from other buckets.

    Where the loader reads, writes and publishes. Cloud defaults need `WATTLINE_GCP_PROJECT`; nothing points
    at a real resource silently. Locally: `WATTLINE_STORAGE=fs` + `WATTLINE_FS_ROOT`, `WATTLINE_WAREHOUSE=duckdb`
    + `WATTLINE_DUCKDB_PATH`, `WATTLINE_PUBLISHER=outbox` (+ `WATTLINE_OUTBOX_DIR`), or the emulators via
    `STORAGE_EMULATOR_HOST` / `WATTLINE_GCS_ENDPOINT`, `PUBSUB_EMULATOR_HOST`, `WATTLINE_BQ_ENDPOINT`."""

    storage: Literal["gcs", "fs"] = "gcs"
    gcs_endpoint: str | None = Field(None, description="fake-gcs-server URL (anonymous credentials)")
    warehouse: Literal["duckdb", "bigquery"] = Field("bigquery", description="the Cloud Function writes BigQuery")
    publisher: Literal["pubsub", "outbox"] = "pubsub"
    outbox_dir: Path | None = None
    energy_topic: str = "energy-updated"
    max_event_age_s: float = Field(86_400.0, gt=0, description="older events are dropped, not retried")
    neighbour_days: int = Field(3, ge=1, le=31, description="how far to look for a channel's boundary samples")

    @model_validator(mode="after")
    def _complete(self) -> LoaderSettings:
        needs_project = self.storage == "gcs" or self.warehouse == "bigquery" or self.publisher == "pubsub"
        if needs_project and not self.gcp_project:
            raise ValueError("set WATTLINE_GCP_PROJECT (or use storage=fs, warehouse=duckdb, publisher=outbox)")
        if self.storage == "fs" and self.fs_root is None:
            raise ValueError("storage=fs needs WATTLINE_FS_ROOT")
        return self

    def options(self) -> LoaderOptions:
        return LoaderOptions(
            timezone=self.timezone,
            method=self.integration_method.value,
            max_gap_s=self.max_gap_seconds,
            max_power_w=self.max_power_w,
            max_event_age_s=self.max_event_age_s,
            topic=self.energy_topic,
            neighbour_days=self.neighbour_days,
        )


class ArchiveSettings(BaseSettings):
    """WATTLINE_ARCHIVE_STORAGE_CLASS, _MIN_AGE_DAYS, _LOOKBACK_DAYS, _CONCURRENCY, _RESTORE_DAYS, _RESTORE_TIER,
    _ON_SCHEDULE: what the archiver does, deployed (services/aws-archiver) and on a home alike."""

    model_config = SettingsConfigDict(env_prefix="WATTLINE_", extra="ignore")

    archive_storage_class: StorageClass = Field(
        StorageClass.GLACIER, description="GLACIER or DEEP_ARCHIVE (a home's directory bucket has no classes)"
    )
    archive_min_age_days: int = Field(2, ge=0, le=365, description="keep this many recent UTC days in raw/")
    archive_lookback_days: int = Field(7, ge=0, le=400, description="older days the schedule still checks")
    archive_concurrency: int = Field(32, ge=1, le=64, description="raw objects read and deleted in parallel")
    archive_restore_days: int = Field(7, ge=1, le=365, description="how long a restored bundle copy stays readable")
    archive_restore_tier: Literal["Expedited", "Standard", "Bulk"] = Field(
        "Standard", description="Glacier retrieval tier of a restore request"
    )
    archive_on_schedule: bool = Field(
        False, description="a home's daily schedule archives too (the deployed archiver has its own schedule)"
    )


class ArchiverSettings(S3BucketSettings, ArchiveSettings):
    """The archiver on S3: WATTLINE_BUCKET (required), WATTLINE_S3_ENDPOINT_URL, AWS_REGION, WATTLINE_MAX_ATTEMPTS
    (S3BucketSettings') and the archive settings every runtime shares (ArchiveSettings)."""


class ArchiveRequest(BaseModel):
    """From a schedule: {"now": <scheduled time>}. By hand: {"device_id": ..., "date": "YYYY-MM-DD"}.
    `min_age_days` / `lookback_days` override the settings for one run (`wattline archive --older-than`);
    `all_days` looks back to the oldest day in raw/ instead of `lookback_days`."""

    model_config = ConfigDict(extra="ignore")

    now: AwareDatetime | None = None
    device_id: str | None = None
    date: dt.date | None = None
    min_age_days: int | None = Field(None, ge=0, le=3650)
    lookback_days: int | None = Field(None, ge=0, le=3650)
    all_days: bool = False


def run_archive(
    store: ObjectStore, bundles: BundleStore, settings: ArchiveSettings, request: ArchiveRequest
) -> list[ArchiveResult]:
    """The archive stage: one device-day when the request names one, else every due day (`archive_due`)."""
    if request.device_id is not None and request.date is not None:
        return [
            archive_day(
                store,
                bundles,
                request.device_id,
                request.date,
                storage_class=settings.archive_storage_class,
                concurrency=settings.archive_concurrency,
            )
        ]
    now = request.now or dt.datetime.now(dt.UTC)
    return archive_due(
        store,
        bundles,
        today=now.astimezone(dt.UTC).date(),
        min_age_days=settings.archive_min_age_days if request.min_age_days is None else request.min_age_days,
        lookback_days=None
        if request.all_days
        else (settings.archive_lookback_days if request.lookback_days is None else request.lookback_days),
        storage_class=settings.archive_storage_class,
        concurrency=settings.archive_concurrency,
    )


def run_restore(
    store: ObjectStore,
    bundles: BundleStore,
    settings: ArchiveSettings,
    device_ids: Sequence[str],
    first: dt.date,
    last: dt.date,
) -> list[RestoreResult]:
    """The restore stage: every archived device-day of the range back under raw/ (or its Glacier restore
    requested), each fully restored day marked for re-aggregation. Days without a bundle are left out."""
    results = []
    for day in days_between(first, last):
        for device_id in device_ids:
            result = restore_day(
                store,
                bundles,
                device_id,
                day,
                days=settings.archive_restore_days,
                tier=settings.archive_restore_tier,
            )
            if result.bundles:
                results.append(result)
    return results


def restore_statuses(
    store: ObjectStore, bundles: BundleStore, device_ids: Sequence[str], first: dt.date, last: dt.date
) -> list[RestoreStatus]:
    """`restore --status`: where each archived device-day of the range stands; requests nothing."""
    statuses = []
    for day in days_between(first, last):
        for device_id in device_ids:
            status = restore_status(store, bundles, device_id, day)
            if status.bundles:
                statuses.append(status)
    return statuses
