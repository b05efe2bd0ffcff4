"""Detection on a local home judges silence by the data it has, never by the wall clock (issue 9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.local.demo import write_capture
from wattline.local.runtime import Runtime
from wattline.simulator import simulate

pytestmark = pytest.mark.slow
KYIV = ZoneInfo("Europe/Kyiv")


def test_data_ending_yesterday_run_with_the_wall_clock_today_shows_no_silence(tmp_path: Path) -> None:
    # Given a capture of yesterday's local day (two meters, the Gen2 one with a scripted 90-minute outage),
    # imported into a fresh home — the way a user backfills, hours after the data ends
    now = datetime.now(UTC)
    yesterday_closed = (now - timedelta(hours=4)).astimezone(KYIV).date()  # its UTC days are closed by now
    scenario = simulate(devices=2, days=1, seed=11, today=yesterday_closed)
    write_capture(scenario, tmp_path / "capture.jsonl")
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(tmp_path / "capture.jsonl"), "--home", str(tmp_path / "home")])
    assert imported.exit_code == 0, imported.output

    # When everything runs with the wall clock as `now` (no pinned detection clock)
    ran = runner.invoke(app, ["run", "--home", str(tmp_path / "home"), "--now", now.isoformat(), "--quiet"])
    assert ran.exit_code == 0, ran.output

    # Then the hours between the data's end and now are no outage and no offline meter: nothing is open
    runtime = Runtime(tmp_path / "home")
    try:
        rows = runtime.warehouse.query(
            "SELECT kind, device_id, end_ts, details FROM `{{project}}.{{dataset}}.alerts`", {}
        )
    finally:
        runtime.close()
    assert rows, "the scripted outage is still found"
    assert [r for r in rows if r["end_ts"] is None] == []
    assert [r for r in rows if r["device_id"] == "*"] == []
    sent = [json.loads(line) for line in (tmp_path / "home" / "outbox" / "alerts.jsonl").read_text().splitlines()]
    assert [m for m in sent if m["event"] == "opened"] == []
    # And the scripted Pro EM outage is one notification, its gaps and LWT among its members
    (outage,) = [m for m in sent if m["alert"]["kind"] == "outage"]
    assert sorted(m["kind"] for m in outage["members"]) == ["gap", "gap", "offline", "outage"]
