"""Backfill: importing the demo's capture into a fresh home gives the same energy as the live path."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from e2e_support import DemoRun
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.local.ledger import home_ledger
from wattline.local.runtime import Runtime
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy

pytestmark = pytest.mark.slow


def test_importing_the_capture_and_running_gives_the_live_energy(demo_run: DemoRun, tmp_path: Path) -> None:
    # Given the capture the demo saved, imported into an empty home
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(demo_run.home / "capture.jsonl"), "--home", str(tmp_path)])
    assert imported.exit_code == 0, imported.output

    # When everything pending runs, at a time every simulated day is closed
    ran = runner.invoke(app, ["run", "--home", str(tmp_path), "--now", "2026-11-25T00:00:00+00:00", "--quiet"])
    assert ran.exit_code == 0, ran.output

    # Then daily energy equals the live run's, and the ledger holds the same messages
    dates = demo_run.result.scenario.dates()
    first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    tariff = load_tariff(demo_run.runtime.settings.tariff)
    live = fetch_daily_energy(demo_run.runtime.warehouse, first, last, tariff=tariff)
    backfill_runtime = Runtime(tmp_path)
    try:
        backfilled = fetch_daily_energy(backfill_runtime.warehouse, first, last, tariff=tariff)
    finally:
        backfill_runtime.close()
    assert [row.model_dump() for row in backfilled] == [row.model_dump() for row in live]
    ledger = home_ledger(tmp_path, demo_run.runtime.clock())
    assert ledger.received == demo_run.result.received
    assert ledger.balanced


def test_importing_the_same_file_twice_writes_the_same_objects(demo_run: DemoRun, tmp_path: Path) -> None:
    # Given a capture imported once
    runner = CliRunner()
    capture = str(demo_run.home / "capture.jsonl")
    runner.invoke(app, ["import", capture, "--home", str(tmp_path)])
    raw = tmp_path / "s3" / "wattline-raw" / "raw"
    first = sorted(path.relative_to(raw) for path in raw.rglob("*.jsonl"))

    # When it is imported again
    runner.invoke(app, ["import", capture, "--home", str(tmp_path)])

    # Then the raw bucket holds exactly the same keys
    assert sorted(path.relative_to(raw) for path in raw.rglob("*.jsonl")) == first
