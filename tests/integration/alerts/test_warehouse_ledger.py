"""Detection over the embedded warehouse (DuckDB): readings_ext over daily files on disk, the alerts ledger,
and the delivery log — the same SQL that runs on BigQuery, transpiled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alert_files import series, write_daily_files
from helpers.fakes import MemoryPublisher

from wattline.alerts.deliver import MemorySink, Outcome, Policy, deliver
from wattline.alerts.ledger import OPEN, RESOLVED
from wattline.alerts.model import AlertEvent, AlertKind
from wattline.alerts.pipeline import DetectOptions, DetectReport, DetectRequest, run_detect
from wattline.alerts.store import WarehouseAlertStore, WarehouseDeliveryLog, WarehouseReadings
from wattline.alerts.thresholds import Thresholds

pytest.importorskip("duckdb")
from wattline.warehouse.duckdb import DuckDBWarehouse

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BUCKET = "wattline-daily"
# The site's data is known up to its newest reading (as where the near-real-time path runs): em-b, silent for
# 19 minutes before em-a's last reading, is offline; nothing after em-a's last reading is judged.
OPTIONS = DetectOptions(thresholds=Thresholds(), tz=KYIV, watermark="newest_reading")


class LoadedToday(WarehouseReadings):
    """The files are today's, as if loaded (this test writes daily files, not energy_hourly rows)."""

    def delivered_days(self) -> dict[str, date]:
        return {"em-a": NOW.date(), "em-b": NOW.date()}


def site(until_b: datetime, until_a: datetime = NOW - timedelta(minutes=1)) -> list:
    sag = (NOW - timedelta(hours=2), NOW - timedelta(hours=2) + timedelta(minutes=5))
    peak = (NOW - timedelta(minutes=90), NOW - timedelta(minutes=88))
    a = series("em-a", NOW - timedelta(hours=3), until_a, overrides=[(*sag, {"voltage_v": 195.0})])
    b = series("em-b", NOW - timedelta(hours=3), until_b, overrides=[(*peak, {"power_w": 12_000.0})])
    return a + b


@pytest.fixture
def warehouse(tmp_path: Path):
    write_daily_files(tmp_path / "buckets", BUCKET, site(until_b=NOW - timedelta(minutes=20)))
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb", fs_root=tmp_path / "buckets", bucket=BUCKET)
    yield wh, tmp_path
    wh.close()


def detect(wh: DuckDBWarehouse, now: datetime) -> tuple[DetectReport, MemoryPublisher]:
    publisher = MemoryPublisher()
    report = run_detect(
        DetectRequest(),
        source=LoadedToday(wh),
        store=WarehouseAlertStore(wh),
        publisher=publisher,
        options=OPTIONS,
        now=now,
    )
    return report, publisher


def run(wh: DuckDBWarehouse, now: datetime) -> list[tuple[AlertEvent, AlertKind, str]]:
    report, publisher = detect(wh, now)
    assert [m[0] for m in publisher.messages] == ["alerts"] * len(report.published)
    return sorted((n.event, n.alert.kind, n.alert.device_id) for n in report.published)


def test_detection_reads_the_daily_files_and_records_each_alert_once(warehouse):
    wh, _ = warehouse
    # When detection runs twice over the same data
    first = run(wh, NOW)
    second = run(wh, NOW + timedelta(minutes=1))
    # Then the first run publishes the closed sag and peak as resolved and em-b's silence as opened (one incident:
    # offline, its channel's gap a member); the second run publishes nothing
    assert first == [
        (AlertEvent.OPENED, AlertKind.OFFLINE, "em-b"),
        (AlertEvent.RESOLVED, AlertKind.OVER_RATED, "em-b"),
        (AlertEvent.RESOLVED, AlertKind.VOLTAGE, "em-a"),
    ]
    assert second == []
    rows = WarehouseAlertStore(wh).list(NOW - timedelta(days=1), NOW)
    assert sorted((r.kind, r.status) for r in rows) == [
        ("gap", OPEN),
        ("offline", OPEN),
        ("over_rated", RESOLVED),
        ("voltage", RESOLVED),
    ]
    assert next(r for r in rows if r.kind == "voltage").details["min_voltage_v"] == 195.0


def test_a_silent_meter_that_comes_back_resolves_its_open_alerts_once(warehouse):
    wh, root = warehouse
    run(wh, NOW)
    # Given em-b's late data arrives and fills its silent stretch
    later_data = site(until_b=NOW + timedelta(minutes=10), until_a=NOW + timedelta(minutes=10))
    write_daily_files(root / "buckets", BUCKET, later_data)
    # When detection runs again, twice
    later = run(wh, NOW + timedelta(minutes=10))
    again = run(wh, NOW + timedelta(minutes=11))
    # Then the gap and the offline alert are resolved once, marked as vanished, in one notification
    assert later == [(AlertEvent.RESOLVED, AlertKind.OFFLINE, "em-b")]
    assert all(r.details.get("vanished") for r in WarehouseAlertStore(wh).list(NOW - timedelta(hours=1), NOW))
    assert again == []
    assert WarehouseAlertStore(wh).open_rows() == []


def test_the_delivery_log_in_the_warehouse_sends_a_redelivered_message_once(warehouse):
    wh, _ = warehouse
    report, _ = detect(wh, NOW)
    sink, log = MemorySink("email"), WarehouseDeliveryLog(wh)
    outcomes = [deliver(n, sink, log, Policy(tz=KYIV), now=NOW) for n in report.published * 2]
    assert outcomes.count(Outcome.SENT) == len(report.published) == len(sink.sent)
    assert outcomes.count(Outcome.DUPLICATE) == len(report.published)
    assert log.count_since("email", NOW - timedelta(hours=1)) == len(report.published)
