"""Alert settings (env prefix WATTLINE_, or `<home>/wattline.toml`): detection, ledger, publishing, subscribers.

Thresholds are nested: WATTLINE_ALERTS__GAP_S=900, WATTLINE_ALERTS__SPIKE_K=4 … (see docs/alerts.md); the rated
maximum power is the site-wide WATTLINE_RATED_MAX_POWER_W. Secrets (SMTP password, Slack webhook URL) come from
the environment or, in the cloud, from Secret Manager by resource name (`…_SECRET`); never from a file in git.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from wattline.alerts.deliver import Policy, parse_quiet_hours
from wattline.alerts.model import Severity
from wattline.alerts.pipeline import DetectOptions
from wattline.alerts.thresholds import Thresholds
from wattline.warehouse.settings import WarehouseSettings


class AlertSettings(WarehouseSettings):
    model_config = SettingsConfigDict(env_prefix="WATTLINE_", env_nested_delimiter="__", extra="ignore")

    alerts: Thresholds = Field(default_factory=Thresholds, description="detection thresholds (nested)")
    publisher: Literal["pubsub", "outbox"] = Field("pubsub", description="where new alert states are published")
    outbox_dir: Path | None = Field(None, description="publisher=outbox: topic files (default <home>/outbox)")
    alerts_topic: str = "alerts"
    alerts_dead_letter_topic: str | None = Field(
        "alerts-dead-letter", description="permanently failed notifications go here (and to the log)"
    )
    alerts_lookback_hours: float = Field(48.0, gt=0, description="detect from this long before the touched hours")
    alerts_max_window_days: float = Field(7.0, gt=0, description="never read more than this many days back")
    alerts_baseline_weeks: int = Field(8, ge=1, description="hour-of-week baseline history for spikes")
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
        return self

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
