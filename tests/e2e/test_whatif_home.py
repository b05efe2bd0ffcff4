"""`wattline whatif` on a home equals `wattline whatif` on the capture the home was imported from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app

CAPTURE = Path(__file__).parents[1] / "fixtures" / "capture-sample.jsonl.gz"  # 2026-03-28..30, Kyiv DST day


def test_whatif_on_a_home_equals_whatif_on_its_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WAREHOUSE", "DUCKDB_PATH", "HOME", "INTEGRATION_METHOD", "MAX_GAP_SECONDS"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_TIMEZONE", "Europe/Kyiv")
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-3zone")
    runner = CliRunner()
    scenario = ["--shift", "2 from day to night", "--format", "json"]

    # Given the sample capture imported into a fresh home and run once its days have closed
    imported = runner.invoke(app, ["import", str(CAPTURE), "--home", str(tmp_path)])
    assert imported.exit_code == 0, imported.output
    ran = runner.invoke(app, ["run", "--home", str(tmp_path), "--now", "2026-04-02T00:00:00+00:00", "--quiet"])
    assert ran.exit_code == 0, ran.output

    # When whatif reads the home's warehouse, and the capture itself
    home = runner.invoke(
        app, ["whatif", "--home", str(tmp_path), "--from", "2026-03-28", "--to", "2026-03-30", *scenario]
    )
    capture = runner.invoke(app, ["whatif", str(CAPTURE), *scenario])

    # Then both print the same rows: every preset for both meters, and the shifted ua-2zone
    assert home.exit_code == 0, home.output
    assert capture.exit_code == 0, capture.output
    rows = json.loads(home.stdout)
    assert rows == json.loads(capture.stdout)
    assert {r["tariff"] for r in rows} == {"ua-1zone", "ua-2zone", "ua-3zone", "ua-2zone+shift"}
    assert len(rows) == 2 * 4
