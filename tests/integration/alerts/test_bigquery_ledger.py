"""The alerts ledger and delivery log in BigQuery's dialect against bqemulator: the DDL in sql/alerts.sql and
sql/alert_deliveries.sql, MERGE by key, and the queries `detect`, the subscribers and `wattline alerts` run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_pubsub import PROJECT

from wattline.alerts.ledger import OPEN, RESOLVED, LedgerRow
from wattline.alerts.model import Alert, AlertKind, Severity
from wattline.alerts.store import WarehouseAlertStore, WarehouseDeliveryLog

pytestmark = [pytest.mark.emulators, pytest.mark.slow]
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def warehouse(bq_emulator: str):
    from wattline.warehouse.bigquery import BigQueryWarehouse

    wh = BigQueryWarehouse(
        project=PROJECT, dataset="alerts_test", location="EU", endpoint=bq_emulator, bucket="b-daily"
    )
    wh.ensure_schema()
    return wh


def row(status: str, end: datetime | None) -> LedgerRow:
    alert = Alert(
        kind=AlertKind.VOLTAGE,
        device_id="em-a",
        channel=0,
        start=T0,
        end=end,
        severity=Severity.WARNING,
        message="Voltage sag",
        details={"min_voltage_v": 195.0, "what": "sag"},
    )
    return LedgerRow.of(alert, status=status, first_seen=T0, now=T0 + timedelta(minutes=5))


def test_a_ledger_row_is_merged_by_key_and_read_back(warehouse):
    store = WarehouseAlertStore(warehouse)
    # Given an open row, then the same key resolved
    store.save([row(OPEN, None)])
    assert [r.key for r in store.open_rows()] == [row(OPEN, None).key]
    store.save([row(RESOLVED, T0 + timedelta(minutes=3))])
    # When it is read back / Then one row, resolved, with its details as they were
    rows = store.list(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(r.status, r.end_ts, r.to_alert().details) for r in rows] == [
        (RESOLVED, T0 + timedelta(minutes=3), {"min_voltage_v": 195.0, "what": "sag"})
    ]
    assert store.open_rows() == []
    assert set(store.load([rows[0].key], T0)) == {rows[0].key}


def test_the_delivery_log_remembers_tokens_and_counts_what_was_sent(warehouse):
    log = WarehouseDeliveryLog(warehouse)
    log.record("email", "k1:opened", "sent", T0)
    log.record("email", "k1:opened", "sent", T0)  # a repeat is one row
    log.record("email", "k2:opened", "quiet_hours", T0)
    assert log.seen("email", "k1:opened") and not log.seen("slack", "k1:opened")
    assert log.count_since("email", T0 - timedelta(minutes=1)) == 1
