"""Alert settings (env prefix WATTLINE_, or `<home>/wattline.toml`): detection, ledger, publishing, subscribers.

Thresholds are nested: WATTLINE_ALERTS__GAP_S=900, WATTLINE_ALERTS__SPIKE_K=4 … (see docs/alerts.md); the rated
maximum power is the site-wide WATTLINE_RATED_MAX_POWER_W. Secrets (SMTP password, Slack webhook URL) come from
the environment or, in the cloud, from Secret Manager by resource name (`…_SECRET`); never from a file in git.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, ConfigDict, Field, SecretStr, model_validator

from wattline.alerts.deliver import Policy, parse_quiet_hours
from wattline.alerts.model import Severity
from wattline.alerts.pipeline import DetectOptions
from wattline.alerts.thresholds import Thresholds
from wattline.warehouse.settings import WarehouseSettings

if TYPE_CHECKING:
    from wattline.alerts.pipeline import ReadingsSource
    from wattline.ports import ColumnarWarehouse, ObjectStore


class AlertSettings(WarehouseSettings):
    model_config = ConfigDict(extra="ignore")
    env_prefix = "WATTLINE_"
    env_nested_delimiter = "__"

    alerts: Thresholds = Field(default_factory=Thresholds, description="detection thresholds (nested)")
    publisher: Literal["pubsub", "outbox"] = Field("pubsub", description="where new alert states are published")
    outbox_dir: Path | None = Field(None, description="publisher=outbox: topic files (default <home>/outbox)")
    alerts_topic: str = "alerts"
    alerts_dead_letter_topic: str | None = Field(
        "alerts-dead-letter", description="permanently failed notifications go here (and to the log)"
    )
    alerts_lookback_hours: float = Field(48.0, gt=0, description="detect from this long before the touched hours")
    alerts_max_window_days: float = Field(
        7.0, gt=0, description="longest window read at once; a silence in history is seen whole up to this long"
    )
    alerts_baseline_weeks: int = Field(8, ge=1, description="hour-of-week baseline history for spikes")
    alerts_notify_max_age_hours: float = Field(
        24.0,
        gt=0,
        description="a condition first seen after it ended this long before the newest delivered data (a backfill) "
        "is recorded but not sent",
    )
    alerts_watermark: Literal["delivered_day", "newest_reading"] = Field(
        "delivered_day",
        description="how far detection knows the data: the end of each device's newest loaded UTC day, or no later "
        "than the site's newest reading (set it where the near-real-time watchdog judges silence now; local default)",
    )
    alerts_readings_source: Literal["warehouse", "objects"] = Field(
        "warehouse",
        description="where detect reads readings: the warehouse's readings_ext, or the daily files in the bucket "
        "(WATTLINE_BUCKET; WATTLINE_FS_ROOT for local directories, else GCS at WATTLINE_GCS_ENDPOINT when set)",
    )
    gcs_endpoint: str | None = Field(None, description="readings_source=objects: fake-gcs-server URL (anonymous)")
    alerts_now: AwareDatetime | None = Field(
        None, description="detect as if it were this instant (replays, the demo's simulated clock); unset: now"
    )
    # subscribers
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_password_secret: str | None = Field(None, description="Secret Manager name of the SMTP password")
    smtp_starttls: bool = True
    smtp_ca_file: str | None = Field(None, description="CA bundle to trust for STARTTLS (default: system)")
    email_from: str = "wattline@localhost"
    email_to: str = Field("", description="comma-separated recipients")
    slack_webhook_url: SecretStr | None = None
    slack_webhook_secret: str | None = Field(None, description="Secret Manager name of the webhook URL")
    alerts_outbox_file: Path | None = Field(None, description="local outbox sink (default <home>/alerts-outbox.jsonl)")
    alerts_max_per_hour: int | None = Field(30, ge=1, description="per sink; critical alerts are never held back")
    alerts_quiet_hours: str | None = Field(None, description="local HH:MM-HH:MM when only critical alerts go out")
    alerts_quiet_bypass: Severity = Severity.CRITICAL

    @model_validator(mode="after")
    def _valid(self) -> AlertSettings:
        parse_quiet_hours(self.alerts_quiet_hours)
        if (self.warehouse == "bigquery" or self.publisher == "pubsub") and not self.gcp_project:
            raise ValueError("set WATTLINE_GCP_PROJECT (or use WATTLINE_WAREHOUSE=duckdb, WATTLINE_PUBLISHER=outbox)")
        if self.alerts_readings_source == "objects" and not self.bucket:
            raise ValueError("WATTLINE_ALERTS_READINGS_SOURCE=objects needs WATTLINE_BUCKET (the daily files' bucket)")
        return self

    def objects_store(self) -> ObjectStore:
        """The bucket holding `daily/` (readings_source=objects): a local directory under fs_root, else GCS."""
        assert self.bucket is not None  # checked by the validator
        if self.fs_root is not None:
            from wattline.adapters.fs_store import FsObjectStore

            return FsObjectStore(self.fs_root / self.bucket, name=self.bucket)
        from wattline.adapters.gcs_store import GcsObjectStore

        return GcsObjectStore(self.bucket, project=self.gcp_project, endpoint=self.gcs_endpoint)

    def readings_source(self, warehouse: ColumnarWarehouse) -> ReadingsSource:
        """Detection's readings: `readings_ext` through the warehouse, or the daily files themselves."""
        if self.alerts_readings_source == "objects":
            from wattline.alerts.objects import ObjectStoreReadings

            return ObjectStoreReadings(self.objects_store(), warehouse)
        from wattline.alerts.store import WarehouseReadings

        return WarehouseReadings(warehouse)

    def now(self) -> datetime:
        """Detection's clock: `alerts_now` when pinned, else the wall clock (UTC)."""
        return self.alerts_now.astimezone(UTC) if self.alerts_now else datetime.now(UTC)

    @property
    def thresholds(self) -> Thresholds:
        return self.alerts.model_copy(update={"rated_max_power_w": self.rated_max_power_w})

    @property
    def recipients(self) -> list[str]:
        return [part.strip() for part in self.email_to.split(",") if part.strip()]

    @property
    def outbox_file(self) -> Path:
        return self.alerts_outbox_file or self.home / "alerts-outbox.jsonl"

    def detect_options(self) -> DetectOptions:
        return DetectOptions(
            thresholds=self.thresholds,
            tz=self.zone,
            topic=self.alerts_topic,
            lookback=timedelta(hours=self.alerts_lookback_hours),
            max_window=timedelta(days=self.alerts_max_window_days),
            baseline=timedelta(weeks=self.alerts_baseline_weeks),
            max_gap_s=self.max_gap_seconds,
            max_power_w=self.max_power_w,
            notify_max_age=timedelta(hours=self.alerts_notify_max_age_hours),
            watermark=self.alerts_watermark,
        )

    def policy(self) -> Policy:
        start, end = parse_quiet_hours(self.alerts_quiet_hours)
        return Policy(
            tz=self.zone,
            max_per_hour=self.alerts_max_per_hour,
            quiet_start=start,
            quiet_end=end,
            bypass=self.alerts_quiet_bypass,
        )
