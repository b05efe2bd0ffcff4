"""`wattline alerts` over an embedded DuckDB warehouse holding a few ledger rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from wattline.alerts.ledger import OPEN, RESOLVED, LedgerRow
from wattline.alerts.model import SITE, Alert, AlertKind, Severity
from wattline.alerts.store import WarehouseAlertStore
from wattline.cli import alerts as alerts_cli

pytest.importorskip("duckdb")
START = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)  # 23:00 in Kyiv


@pytest.fixture
def app(tmp_path, monkeypatch):
    from wattline.warehouse.duckdb import DuckDBWarehouse

    path = tmp_path / "warehouse.duckdb"
    warehouse = DuckDBWarehouse(path)
    outage = Alert(
        kind=AlertKind.OUTAGE,
        device_id=SITE,
        channel=None,
        start=START,
        end=START + timedelta(hours=3),
        severity=Severity.CRITICAL,
        message="Every meter fell silent",
        details={"devices": ["em-a", "em-b"]},
    )
    gap = Alert(
        kind=AlertKind.GAP,
        device_id="em-a",
        channel=0,
        start=START + timedelta(hours=5),
        end=None,
        severity=Severity.WARNING,
        message="No power sample",
    )
    WarehouseAlertStore(warehouse).save(
        [
            LedgerRow.of(outage, status=RESOLVED, first_seen=START, now=START),
            LedgerRow.of(gap, status=OPEN, first_seen=START, now=START),
        ]
    )
    warehouse.close()
    monkeypatch.setenv("WATTLINE_WAREHOUSE", "duckdb")
    monkeypatch.setenv("WATTLINE_DUCKDB_PATH", str(path))
    monkeypatch.setenv("WATTLINE_TIMEZONE", "Europe/Kyiv")
    application = typer.Typer()
    alerts_cli.register(application)
    application.command(name="noop")(lambda: None)  # two commands: the alerts command keeps its name
    return application


def run(app, *args: str) -> str:
    result = CliRunner().invoke(app, ["alerts", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_json_lists_every_alert_with_its_keys(app):
    body = json.loads(run(app, "--from", "2026-11-26", "--to", "2026-11-27", "--format", "json"))
    assert [(a["kind"], a["device_id"], a["status"], a["end"]) for a in body] == [
        ("outage", "*", "resolved", "2026-11-27T00:00:00.000Z"),
        ("gap", "em-a", "open", None),
    ]
    assert set(body[0]) == {
        "key",
        "kind",
        "device_id",
        "channel",
        "start",
        "end",
        "severity",
        "message",
        "details",
        "status",
        "incident",
        "notified",
    }
    assert body[0]["incident"] == body[0]["key"] and body[0]["notified"] is True


def test_open_only_lists_what_is_still_going_on(app):
    body = json.loads(run(app, "--from", "2026-11-26", "--to", "2026-11-27", "--open", "--format", "json"))
    assert [a["kind"] for a in body] == ["gap"]


def test_outage_hours_are_summed_per_local_day(app):
    body = json.loads(run(app, "--from", "2026-11-26", "--to", "2026-11-27", "--outage-hours", "--format", "json"))
    assert body == [
        {"device_id": "*", "date": "2026-11-26", "outage_hours": 1.0},
        {"device_id": "*", "date": "2026-11-27", "outage_hours": 2.0},
    ]


def test_an_unknown_kind_says_which_kinds_exist(app):
    result = CliRunner().invoke(app, ["alerts", "--kind", "fire"])
    assert result.exit_code == 2
    assert "unknown kind" in result.output
