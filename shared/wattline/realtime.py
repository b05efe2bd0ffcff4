"""The near-real-time alert path: the AWS `validate` Lambda hands over the readings it just parsed, and the two
alerts that cannot wait for the daily batch reach the `alerts` topic within seconds:

- an MQTT last will `online=false` (Gen1 and Gen2: a Reading with channel None, online False) → `offline` opened;
- power above the meter's rated maximum → `over_rated` opened, once per episode.

The alerts are built by the same code as the batch detectors, so they carry the same dedup keys (kind, device,
channel, start): the batch `detect` later records them in the ledger and its `opened` for the same key is
dropped by the subscribers' delivery log; its `resolved` goes out as usual.

Authentication to GCP: Workload Identity Federation from the Lambda's IAM role — an `external_account`
credentials config (JSON text or a file path in WATTLINE_GCP_WIF_CONFIG; it holds no secret, only the pool,
provider and service account to impersonate). google-auth signs an STS GetCallerIdentity request with the
Lambda's own temporary AWS credentials and exchanges it for a Google token. No key file anywhere. The Pub/Sub
client is built lazily on first use and cached for the container's lifetime.

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
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from wattline.alerts.detect import over_rated, over_rated_alert
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity
from wattline.errors import PermanentError
from wattline.models import Reading
from wattline.ports import ObjectStore, Publisher
from wattline.settings import Settings

logger = logging.getLogger(__name__)
PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub"


class RealtimeSettings(Settings):
    realtime_alerts: bool = Field(False, description="forward LWT offline and over-rated power at once")
    gcp_project: str | None = Field(None, description="GCP project of the alerts topic")
    alerts_topic: str = "alerts"
    gcp_wif_config: str | None = Field(None, description="external_account credentials config: JSON text or path")
    realtime_timeout_s: float = Field(5.0, gt=0, description="publish deadline; a Lambda must not hang on GCP")
    realtime_episode_gap_s: float = Field(600.0, gt=0, description="samples further apart start a new episode")


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
        with self._lock:
            if self._publisher is None:
                if not self.settings.gcp_project:
                    raise PermanentError("realtime alerts need WATTLINE_GCP_PROJECT (the alerts topic's project)")
                from google.cloud import pubsub_v1

                from wattline.adapters.pubsub import PubSubPublisher

                credentials = wif_credentials(self.settings.gcp_wif_config) if self.settings.gcp_wif_config else None
                client = pubsub_v1.PublisherClient(credentials=credentials)
                self._publisher = PubSubPublisher(
                    self.settings.gcp_project, client=client, timeout_s=self.settings.realtime_timeout_s
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
    """One forwarder per container (settings validated once, Pub/Sub client built on first use)."""
    return RealtimeForwarder(RealtimeSettings())


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
