"""Adapters for the alert functions, built lazily from AlertSettings and cached for the instance's lifetime."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property, lru_cache

from gcp_alerts.secrets import resolve_secret
from wattline.alerts.deliver import DeliveryLog, Sink
from wattline.alerts.ledger import AlertStore
from wattline.alerts.pipeline import ReadingsSource
from wattline.alerts.settings import AlertSettings
from wattline.alerts.sinks import OutboxSink, SlackWebhookSink, SmtpSink
from wattline.alerts.store import WarehouseAlertStore, WarehouseDeliveryLog
from wattline.ports import ColumnarWarehouse, Publisher

logger = logging.getLogger("gcp_alerts")


@dataclass
class Deps:
    settings: AlertSettings

    @cached_property
    def warehouse(self) -> ColumnarWarehouse:
        from wattline.warehouse import open_warehouse

        warehouse = open_warehouse(self.settings)
        if self.settings.warehouse == "duckdb":
            warehouse.ensure_schema()  # embedded: re-binds readings_ext to the daily files that exist by now
        return warehouse

    @cached_property
    def publisher(self) -> Publisher:
        from wattline.adapters.pubsub import open_publisher

        s = self.settings
        return open_publisher(s.publisher, project=s.gcp_project, outbox_dir=s.outbox_dir or s.home / "outbox")

    @cached_property
    def store(self) -> AlertStore:
        return WarehouseAlertStore(self.warehouse)

    @cached_property
    def source(self) -> ReadingsSource:
        return self.settings.readings_source(self.warehouse)

    @cached_property
    def delivery_log(self) -> DeliveryLog:
        return WarehouseDeliveryLog(self.warehouse)

    def _outbox(self, wanted: str) -> Sink:
        logger.warning(f"{wanted} is not configured: notifications go to the local outbox {self.settings.outbox_file}")
        return OutboxSink(self.settings.outbox_file, self.settings.zone)

    @cached_property
    def email_sink(self) -> Sink:
        s = self.settings
        if not s.smtp_host:
            return self._outbox("e-mail (WATTLINE_SMTP_HOST)")
        return SmtpSink(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.email_from,
            recipients=s.recipients,
            tz=s.zone,
            user=s.smtp_user,
            password=resolve_secret(s.smtp_password, s.smtp_password_secret, what="SMTP password"),
            starttls=s.smtp_starttls,
            ca_file=s.smtp_ca_file,
        )

    @cached_property
    def slack_sink(self) -> Sink:
        s = self.settings
        url = resolve_secret(s.slack_webhook_url, s.slack_webhook_secret, what="Slack webhook")
        if not url:
            return self._outbox("Slack (WATTLINE_SLACK_WEBHOOK_URL or _SECRET)")
        return SlackWebhookSink(url=url, tz=s.zone)

    @cached_property
    def outbox_sink(self) -> Sink:
        return OutboxSink(self.settings.outbox_file, self.settings.zone)


@lru_cache(maxsize=1)
def get_deps() -> Deps:
    """Validated once per instance (cold start); a bad setting fails here with a message saying what to set."""
    return Deps(AlertSettings())
