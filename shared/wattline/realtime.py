"""The near-real-time alert path on AWS: the alerts that cannot wait for the daily batch reach the GCP `alerts`
topic within seconds (events) or minutes (silence):

- `validate` hands over each raw object it just validated (`forward_object`): an MQTT last will `online=false`
  (Gen1 and Gen2: a Reading with channel None, online False) → `offline` opened; power above the meter's rated
  maximum → `over_rated` opened, once per episode;
- the scheduled `watchdog` (`run_watchdog_now`, domain in `wattline.alerts.watchdog`): a meter silent for longer
  than `offline_s` → `offline` (reason `silent`), every meter silent at once → one site `outage`.

The alerts are built by the batch detectors' own code, so they carry the same dedup keys (kind, device, channel,
start): the batch `detect` later records them in the ledger and its `opened` for the same key is dropped by the
subscribers' delivery log; its `resolved` goes out as usual.

Transport: Pub/Sub's REST API through `RestPubSubPublisher` (urllib3 + google-auth), not the gRPC client, which
is not in the Lambda bundle (see docs/alerts.md). Nothing here imports google.cloud, grpc or duckdb.

Authentication to GCP: Workload Identity Federation from the Lambda's IAM role — an `external_account`
credentials config (JSON text or a file path in WATTLINE_GCP_WIF_CONFIG; it holds no secret, only the pool,
provider and service account to impersonate). google-auth signs an STS GetCallerIdentity request with the
Lambda's own temporary AWS credentials and exchanges it for a Google token. No key file anywhere. With
WATTLINE_PUBSUB_ENDPOINT (or PUBSUB_EMULATOR_HOST) the publisher talks to that emulator without credentials. The
publisher is built lazily on first use and cached for the container's lifetime.

Off by default (WATTLINE_REALTIME_ALERTS=false). Episode memory (is this channel already above its rating?) is
per warm container: a cold container in the middle of an episode may send one extra `over_rated` with a later
start (documented in docs/alerts.md).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, ConfigDict, Field, field_validator

from wattline.adapters.pubsub_rest import PUBSUB_SCOPE
from wattline.alerts.detect import over_rated, over_rated_alert
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity
from wattline.alerts.thresholds import Thresholds
from wattline.errors import PermanentError
from wattline.models import Reading
from wattline.ports import ObjectStore, Publisher
from wattline.settings import Settings

if TYPE_CHECKING:
    from wattline.alerts.watchdog import WatchdogOptions, WatchdogReport

logger = logging.getLogger(__name__)


class RealtimeSettings(Settings):
    """The AWS side's alert settings (env prefix WATTLINE_). Thresholds are nested with the same names as the GCP
    detect function's (WATTLINE_ALERTS__OFFLINE_S, WATTLINE_ALERTS__SITE_ONSET_S, …): set them alike on both sides,
    or the watchdog opens alerts the batch path never sees."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    env_prefix = "WATTLINE_"
    env_nested_delimiter = "__"

    realtime_alerts: bool = Field(False, description="forward LWT offline and over-rated power, watch for silence")
    gcp_project: str | None = Field(None, description="GCP project of the alerts topic")
    alerts_topic: str = "alerts"
    gcp_wif_config: str | None = Field(None, description="external_account credentials config: JSON text or path")
    pubsub_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("WATTLINE_PUBSUB_ENDPOINT", "PUBSUB_EMULATOR_HOST", "pubsub_endpoint"),
        description="Pub/Sub emulator (http://host:port or host:port), used without credentials; unset on AWS",
    )
    realtime_timeout_s: float = Field(5.0, gt=0, description="per publish attempt; a Lambda must not hang on GCP")
    realtime_episode_gap_s: float = Field(600.0, gt=0, description="samples further apart start a new episode")
    alerts: Thresholds = Field(default_factory=Thresholds, description="detection thresholds (nested)")
    watchdog_delivery_lag_s: float = Field(
        90.0, ge=0, le=3600, description="the watchdog judges silence up to this long before now (Firehose buffers)"
    )

    @field_validator("pubsub_endpoint")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        return value if "://" in value else f"http://{value}"  # PUBSUB_EMULATOR_HOST is host:port

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds with the site-wide rated maximum power (WATTLINE_RATED_MAX_POWER_W), as detect has them."""
        return self.alerts.model_copy(update={"rated_max_power_w": self.rated_max_power_w})

    def watchdog_options(self) -> WatchdogOptions:
        from wattline.alerts.watchdog import WatchdogOptions

        return WatchdogOptions(
            thresholds=self.thresholds,
            tz=self.zone,
            topic=self.alerts_topic,
            delivery_lag_s=self.watchdog_delivery_lag_s,
        )


class EpisodeMemory:
    """Per (device, channel): the last power sample seen and whether it was above the rating."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], tuple[datetime, bool]] = {}
        self._lock = threading.Lock()

    def starts_episode(self, key: tuple[str, int], ts: datetime, above: bool, gap: timedelta) -> bool:
        with self._lock:
            previous = self._last.get(key)
            if previous is not None and ts < previous[0]:
                return False  # an older sample arriving late: the batch path judges it
            self._last[key] = (ts, above)
            return above and (previous is None or not previous[1] or ts - previous[0] > gap)


def realtime_notifications(
    readings: Iterable[Reading],
    *,
    rated_max_power_w: float,
    tz: ZoneInfo,
    memory: EpisodeMemory,
    episode_gap: timedelta = timedelta(minutes=10),
) -> list[Notification]:
    """The notifications the readings call for right now (pure, except for the episode memory)."""
    out: list[Notification] = []
    for reading in sorted(set(readings), key=lambda r: (r.ts, r.device_id, -1 if r.channel is None else r.channel)):
        if reading.channel is None and reading.online is False:
            alert = Alert(
                kind=AlertKind.OFFLINE,
                device_id=reading.device_id,
                channel=None,
                start=reading.ts,
                end=None,
                severity=Severity.WARNING,
                message=f"{reading.device_id} went offline (MQTT last will) at "
                f"{reading.ts.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z')}.",
                details={"reason": "lwt"},
            )
            out.append(Notification(event=AlertEvent.OPENED, alert=alert, source="realtime"))
        elif reading.channel is not None and reading.power_w is not None:
            above = over_rated(reading.power_w, rated_max_power_w)
            key = (reading.device_id, reading.channel)
            if memory.starts_episode(key, reading.ts, above, episode_gap):
                alert = over_rated_alert(
                    reading.device_id, reading.channel, reading.ts, None, reading.power_w, rated_max_power_w, tz
                )
                out.append(Notification(event=AlertEvent.OPENED, alert=alert, source="realtime"))
    return out


def wif_credentials(config: str) -> Any:
    """google-auth external-account credentials from a WIF config (JSON text or file path); no network here."""
    text = config if config.lstrip().startswith("{") else Path(config).read_text(encoding="utf-8")
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise PermanentError("WATTLINE_GCP_WIF_CONFIG is not a JSON credentials config (or a path to one)") from exc
    if info.get("type") != "external_account":
        raise PermanentError(
            "the WIF config must be an external_account config (`gcloud iam workload-identity-pools "
            "create-cred-config … --aws`), never a service-account key"
        )
    source = info.get("credential_source") or {}
    if str(source.get("environment_id", "")).startswith("aws"):
        from google.auth import aws

        return aws.Credentials.from_info(info, scopes=[PUBSUB_SCOPE])  # type: ignore[no-untyped-call]
    from google.auth import identity_pool

    return identity_pool.Credentials.from_info(info, scopes=[PUBSUB_SCOPE])  # type: ignore[no-untyped-call]


class RealtimeForwarder:
    """What the `validate` Lambda calls. Publishing failures are logged, never raised: the batch path is the
    safety net, and validation must not be retried because GCP was slow."""

    def __init__(self, settings: RealtimeSettings, publisher: Publisher | None = None) -> None:
        self.settings = settings
        self._publisher = publisher
        self._lock = threading.Lock()
        self.memory = EpisodeMemory()

    @property
    def enabled(self) -> bool:
        return self.settings.realtime_alerts

    def publisher(self) -> Publisher:
        """The REST publisher: to the emulator when one is configured, else to Google with the WIF credentials."""
        with self._lock:
            if self._publisher is None:
                settings = self.settings
                if not settings.gcp_project:
                    raise PermanentError("realtime alerts need WATTLINE_GCP_PROJECT (the alerts topic's project)")
                from wattline.adapters.pubsub_rest import RestPubSubPublisher

                credentials = None
                if settings.pubsub_endpoint is None:
                    if not settings.gcp_wif_config:
                        raise PermanentError(
                            "realtime alerts need WATTLINE_GCP_WIF_CONFIG (Workload Identity Federation config; "
                            "see docs/alerts.md), or WATTLINE_PUBSUB_ENDPOINT for an emulator"
                        )
                    credentials = wif_credentials(settings.gcp_wif_config)
                self._publisher = RestPubSubPublisher(
                    settings.gcp_project,
                    credentials=credentials,
                    endpoint=settings.pubsub_endpoint,
                    timeout_s=settings.realtime_timeout_s,
                )
            return self._publisher

    def forward(self, readings: Iterable[Reading]) -> list[str]:
        """Publish what the readings call for; returns the alert tokens published."""
        if not self.enabled:
            return []
        notifications = realtime_notifications(
            readings,
            rated_max_power_w=self.settings.rated_max_power_w,
            tz=self.settings.zone,
            memory=self.memory,
            episode_gap=timedelta(seconds=self.settings.realtime_episode_gap_s),
        )
        sent = []
        for notification in notifications:
            try:
                self.publisher().publish(self.settings.alerts_topic, notification.to_json(), notification.attributes())
                sent.append(notification.token)
            except Exception as exc:  # the batch detect path will still raise this alert
                logger.warning("realtime alert not published", extra={"token": notification.token, "error": str(exc)})
        return sent


@lru_cache(maxsize=1)
def get_forwarder() -> RealtimeForwarder:
    """One forwarder per container (settings validated once, the publisher built on first use)."""
    return RealtimeForwarder(RealtimeSettings())


def run_watchdog_now(store: ObjectStore, now: datetime) -> WatchdogReport | None:
    """For the `watchdog` Lambda: publish the silence alerts not published before; None while
    WATTLINE_REALTIME_ALERTS is off (no request at all). Publish failures raise (the next scheduled run retries)."""
    forwarder = get_forwarder()
    if not forwarder.enabled:
        return None
    from wattline.alerts.watchdog import run_watchdog

    return run_watchdog(store, forwarder.publisher(), options=forwarder.settings.watchdog_options(), now=now)


def forward_object(store: ObjectStore, key: str) -> list[str]:
    """For the `validate` Lambda: parse the raw object it just validated and forward what it calls for.

    A no-op (no GET) unless WATTLINE_REALTIME_ALERTS=true. Never raises: the batch path is the safety net.
    """
    forwarder = get_forwarder()
    if not forwarder.enabled:
        return []
    from wattline.parsing import parse_object

    try:
        outcomes = parse_object(store.get(key), source_key=key)
    except Exception as exc:
        logger.warning("realtime alerts skipped: raw object unreadable", extra={"key": key, "error": str(exc)})
        return []
    return forwarder.forward(r for outcome in outcomes for r in outcome.readings)
