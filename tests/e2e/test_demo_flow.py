"""The demo-sized run on embedded backends: energy, alerts and the ledger, checked against independent truths."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from e2e_support import DemoRun
from typer.testing import CliRunner

from wattline.alerts.store import WarehouseReadings
from wattline.analysis import analyze_readings, read_inputs
from wattline.local.ledger import home_ledger
from wattline.settings import IntegrationMethod
from wattline.simulator import FaultKind
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy

pytestmark = pytest.mark.slow


def _pipeline_days(run: DemoRun) -> dict[tuple[str, int, str], dict[str, object]]:
    dates = run.result.scenario.dates()
    rows = fetch_daily_energy(
        run.runtime.warehouse,
        date.fromisoformat(dates[0]),
        date.fromisoformat(dates[-1]),
        tariff=load_tariff(run.runtime.settings.tariff),
    )
    return {(row.device_id, row.channel, row.date): row.model_dump() for row in rows}


def _analyze_days(run: DemoRun) -> dict[tuple[str, int, str], dict[str, object]]:
    settings = run.runtime.settings
    readings, _stats = read_inputs([run.home / "capture.jsonl"])
    rows = analyze_readings(
        readings,
        timezone=settings.timezone,
        tariff=load_tariff(settings.tariff),
        method=IntegrationMethod(settings.integration_method),
        max_gap_s=settings.max_gap_seconds,
        max_power_w=settings.max_power_w,
    )
    dates = set(run.result.scenario.dates())
    return {(row.device_id, row.channel, row.date): row.model_dump() for row in rows if row.date in dates}


def test_every_published_message_reaches_the_raw_bucket(demo_run: DemoRun) -> None:
    # Given the demo published its simulated messages through the broker
    # Then the bridge stored every one of them
    assert demo_run.result.bridged == demo_run.result.published == len(demo_run.result.scenario.messages)


def test_the_energy_the_pipeline_reports_equals_wattline_analyze_on_the_same_messages(demo_run: DemoRun) -> None:
    # Given the warehouse rows of the simulated days and `wattline analyze` on the saved capture
    pipeline = _pipeline_days(demo_run)
    analyzed = _analyze_days(demo_run)

    # Then both give identical rows: energy, zones, cost, coverage, gaps, samples, method, resets
    assert analyzed
    assert pipeline == analyzed


def test_the_scripted_faults_produce_exactly_the_expected_alerts(demo_run: DemoRun) -> None:
    # Given the faults the simulator scripted (reboot, duplicates, spike on Gen1; late, duplicates, outage on Gen2)
    scenario = demo_run.result.scenario
    gen1, gen2 = (spec.device_id for spec in scenario.devices)
    kinds = {fault.kind for fault in scenario.faults}
    assert kinds == set(FaultKind)

    # When the alerts recorded over the simulated period are read back
    rows = demo_run.runtime.warehouse.query(
        "SELECT kind, device_id, channel FROM `{{project}}.{{dataset}}.alerts` "
        "WHERE start_ts >= @start AND start_ts < @end",
        {"start": scenario.start, "end": scenario.end},
    )
    found = sorted((str(row["kind"]), str(row["device_id"]), row["channel"]) for row in rows)

    # Then each fault shows up as its alerts, and nothing else does (duplicates and late data raise none)
    expected = sorted(
        [
            ("offline", gen1, None),  # reboot: LWT offline
            ("counter_reset", gen1, 0),  # reboot: the counter restarted from 0
            ("over_rated", gen1, 0),  # spike above the rated 11 kW
            ("gap", gen2, 0),  # outage: no power samples for 90 min
            ("gap", gen2, 1),
            ("outage", gen2, 0),  # outage: voltage 0
            ("outage", gen2, 1),
            ("offline", gen2, None),  # outage: LWT offline
        ]
    )
    assert found == expected

    # And the Gen2 outage went out as one notification listing the rest of it, each notification once
    sent = [json.loads(line) for line in (demo_run.home / "outbox" / "alerts.jsonl").read_text().splitlines()]
    assert sorted((m["alert"]["kind"], m["alert"]["device_id"], len(m.get("members", []))) for m in sent) == [
        ("counter_reset", gen1, 0),
        ("offline", gen1, 0),
        ("outage", gen2, 4),
        ("over_rated", gen1, 0),
    ]


def test_detection_knows_each_meters_data_up_to_its_newest_loaded_day(demo_run: DemoRun) -> None:
    # Given the demo's loaded days (its simulated local day spans two UTC days)
    newest = (demo_run.result.scenario.end - timedelta(microseconds=1)).astimezone(UTC).date()
    # Then the warehouse names that UTC day as each meter's newest delivered one
    delivered = WarehouseReadings(demo_run.runtime.warehouse).delivered_days()
    assert delivered == {spec.device_id: newest for spec in demo_run.result.scenario.devices}


def test_the_ledger_adds_up_and_nothing_is_pending(demo_run: DemoRun) -> None:
    # Given the ledger after the demo
    ledger = home_ledger(demo_run.home, demo_run.runtime.clock())

    # Then every published MQTT message is accounted for exactly once
    assert ledger.received == demo_run.result.received
    assert ledger.received == ledger.kept + ledger.quarantined + ledger.duplicates
    # 5 Gen1 envelopes stored twice + 3 Gen2 notifications redelivered
    assert ledger.duplicates == 8
    # the reboot's "-1" total and total_returned
    assert ledger.quarantine_reasons == {"counter_unavailable": 2}
    assert ledger.pending_events == {}
    assert ledger.dead_letters == []
    assert ledger.days_loaded == ledger.days_aggregated > 0


def test_wattline_run_is_a_no_op_when_nothing_is_pending(demo_run: DemoRun) -> None:
    # Given a home the demo fully processed
    from wattline.cli.main import app

    # When `wattline run` runs at a time when every simulated day is closed
    now = datetime.fromisoformat("2026-11-25T00:00:00+00:00").isoformat()
    result = CliRunner().invoke(app, ["run", "--home", str(demo_run.home), "--now", now, "--quiet"])

    # Then it says so and changes nothing
    assert result.exit_code == 0, result.output
    assert "nothing pending" in result.output


def test_status_prints_the_ledger_as_json(demo_run: DemoRun) -> None:
    import json

    from wattline.cli.main import app

    # When `wattline status --format json` runs on the demo's home
    result = CliRunner().invoke(app, ["status", "--home", str(demo_run.home), "--format", "json"])

    # Then the ledger it prints balances
    assert result.exit_code == 0, result.output
    ledger = json.loads(result.output)
    assert ledger["balanced"] is True
    assert ledger["received"] == demo_run.result.received


def test_wattline_report_writes_the_dashboard_for_a_date_range(demo_run: DemoRun, tmp_path: Path) -> None:
    from wattline.cli.main import app

    # When `wattline report` runs for the simulated day
    day = demo_run.result.scenario.dates()[0]
    out = tmp_path / "dashboard.html"
    args = ["report", "--home", str(demo_run.home), "--from", day, "--to", day, "--out", str(out)]
    result = CliRunner().invoke(app, args)

    # Then the page is written and shows that day
    assert result.exit_code == 0, result.output
    assert day in out.read_text(encoding="utf-8")


def test_the_capture_is_saved_in_analyze_format(demo_run: DemoRun) -> None:
    import json

    # Given the capture the demo saved
    lines = Path(demo_run.home / "capture.jsonl").read_text().splitlines()

    # Then it holds every published message, one {"topic","payload","received_at"} object a line
    assert len(lines) == demo_run.result.received
    assert set(json.loads(lines[0])) == {"topic", "payload", "received_at"}


def test_wattline_energy_on_the_home_prints_what_wattline_analyze_prints_for_the_capture(demo_run: DemoRun) -> None:
    import json

    from wattline.cli.main import app

    # Given the demo's home (its PV clamp has the solar role) and the capture of every message it published
    dates = demo_run.result.scenario.dates()
    home = str(demo_run.home)
    roles = ",".join(f"{key}={role}" for key, role in demo_run.runtime.settings.channels.items())
    assert roles.endswith(":1=solar")
    # When both commands print JSON for the simulated days, analyze given the same roles
    energy = CliRunner().invoke(
        app, ["energy", "--home", home, "--from", dates[0], "--to", dates[-1], "--format", "json"]
    )
    analyzed = CliRunner().invoke(
        app, ["analyze", str(demo_run.home / "capture.jsonl"), "--format", "json", "--channels", roles]
    )
    # Then the warehouse's rows are exactly analyze's rows for those days: channel rows and solar rows
    assert energy.exit_code == 0, energy.output
    from_warehouse = json.loads(energy.stdout)
    from_capture = {
        part: [day for day in rows if day["date"] in dates] for part, rows in json.loads(analyzed.stdout).items()
    }
    assert from_warehouse["days"] and from_warehouse["solar"]
    assert from_warehouse == from_capture
