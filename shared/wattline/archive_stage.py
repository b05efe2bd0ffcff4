"""The archiver's stage: its settings (one model for the Lambda, `wattline archive` / `restore` and a home's runtime),
the request the Lambda and the local `archive` event carry, and the composition that runs the domain functions of
`wattline.archive`. Re-exported by `wattline.stages` with the other stages; kept apart so the archiver Lambda and the
CLI's --help import it without the loader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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
from wattline.env_settings import EnvSettings
from wattline.settings import S3BucketSettings

if TYPE_CHECKING:
    from wattline.ports import ObjectStore


class ArchiveSettings(EnvSettings):
    """WATTLINE_ARCHIVE_STORAGE_CLASS, _MIN_AGE_DAYS, _LOOKBACK_DAYS, _CONCURRENCY, _RESTORE_DAYS, _RESTORE_TIER,
    _ON_SCHEDULE: what the archiver does, deployed (services/aws-archiver) and on a home alike."""

    model_config = ConfigDict(extra="ignore")
    env_prefix = "WATTLINE_"

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

    def __init__(self, /, **values: Any) -> None:  # required fields from the environment (S3BucketSettings')
        super().__init__(**values)


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
