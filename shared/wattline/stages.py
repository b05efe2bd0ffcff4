"""One composition per stage: the settings each stage's handler is built from, shared by the cloud entry modules
and the local runtime, so the same `WATTLINE_*` names give the same behaviour deployed and on a home.

- aggregation (AWS `plan`/`aggregate` Lambdas, local `schedule`/`aggregate` events): `AggregationSettings`;
- the loader (GCS-finalize Cloud Function, local `storage` events): `LoaderSettings`;
- detection and the subscribers (Cloud Functions, local `pubsub` events): `wattline.alerts.settings.AlertSettings`;
- the archiver (AWS `archive` Lambda, local `archive` events, `wattline archive` / `wattline restore` on a home or a
  bucket): `ArchiveSettings` (+ `S3BucketSettings` as `ArchiverSettings` on S3), run by `run_archive` and
  `run_restore`, the stage's one composition (module `wattline.archive_stage`, re-exported here).

Each default lives here once; the handlers, `--help` and docs read it from the model.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

# The archiver's stage lives in its own light module (its Lambda and the CLI's --help import it without the
# loader); it is one of the stages all the same.
from wattline.archive_stage import (
    ArchiveRequest,
    ArchiverSettings,
    ArchiveSettings,
    restore_statuses,
    run_archive,
    run_restore,
)
from wattline.env_settings import EnvSettings
from wattline.loader import LoaderOptions
from wattline.warehouse.settings import WarehouseSettings

__all__ = [
    "AggregationSettings",
    "ArchiveRequest",
    "ArchiveSettings",
    "ArchiverSettings",
    "LoaderSettings",
    "restore_statuses",
    "run_archive",
    "run_restore",
]


class AggregationSettings(EnvSettings):
    """WATTLINE_GRACE_HOURS, WATTLINE_LOOKBACK_DAYS, WATTLINE_CONCURRENCY, WATTLINE_DEDUP_WINDOW_MS."""

    model_config = ConfigDict(extra="ignore")
    env_prefix = "WATTLINE_"

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
