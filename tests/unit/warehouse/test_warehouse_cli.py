"""`wattline energy` and `wattline gcp init` through the real command line (DuckDB; gcp init --dry-run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.hourly import KEY, dumps, hour, local_day_hours
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.daily import daily_energy
from wattline.models import DailyEnergy
from wattline.tariffs import load_tariff
from wattline.warehouse.duckdb import DuckDBWarehouse

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WATTLINE_* settings for a DuckDB warehouse in tmp_path, site tariff ua-3zone."""
    for name in ("WAREHOUSE", "GCP_PROJECT", "BUCKET", "BQ_ENDPOINT", "TIMEZONE"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_HOME", str(tmp_path))
    monkeypatch.setenv("WATTLINE_WAREHOUSE", "duckdb")
    monkeypatch.setenv("WATTLINE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-3zone")
    return tmp_path


def test_energy_json_is_exactly_what_the_python_rollup_prints(site: Path) -> None:
    # Given the hours of the DST day 2026-03-29 merged into the DuckDB warehouse
    rows = [
        hour("m", h, import_wh=111.1111 * (i % 5), estimated_wh=0.5)
        for i, h in enumerate(local_day_hours("2026-03-29"))
    ]
    store = DuckDBWarehouse(site / "warehouse.duckdb", tariff="ua-3zone")
    store.merge_rows("energy_hourly", dumps(rows), KEY)
    store.close()

    # When `wattline energy --format json` reads it
    result = runner.invoke(app, ["energy", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"])

    # Then it prints the objects wattline.daily computes from the same rows (what `wattline analyze` prints)
    assert result.exit_code == 0, result.output
    expected = [d.model_dump() for d in daily_energy(rows, tariff=load_tariff("ua-3zone"), timezone="Europe/Kyiv")]
    assert json.loads(result.stdout) == expected
    # (export_value is absent: nothing was exported and ua-3zone prices no export)
    assert list(json.loads(result.stdout)[0]) == [name for name in DailyEnergy.model_fields if name != "export_value"]


def test_energy_with_another_tariff_prices_the_same_days_with_it(site: Path) -> None:
    store = DuckDBWarehouse(site / "warehouse.duckdb", tariff="ua-3zone")
    store.merge_rows(
        "energy_hourly", dumps([hour("m", h, import_wh=100.0) for h in local_day_hours("2026-06-15")]), KEY
    )
    store.close()

    result = runner.invoke(
        app, ["energy", "--from", "2026-06-15", "--to", "2026-06-15", "--tariff", "ua-1zone", "--format", "json"]
    )

    assert result.exit_code == 0, result.output
    (day,) = json.loads(result.stdout)
    assert (day["zones"], day["cost"]) == ({"all": 2.4}, round(2.4 * 4.32, 4))


def test_energy_refuses_a_range_that_ends_before_it_starts(site: Path) -> None:
    result = runner.invoke(app, ["energy", "--from", "2026-06-15", "--to", "2026-06-14"])
    assert result.exit_code == 2
    assert "before" in result.output


def test_gcp_init_dry_run_prints_the_rendered_sql_without_contacting_bigquery(site: Path) -> None:
    result = runner.invoke(
        app, ["gcp", "init", "--project", "proj", "--bucket", "archive", "--tz", "Europe/Kyiv", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "CREATE SCHEMA IF NOT EXISTS `proj.wattline`" in result.stdout
    assert "gs://archive/daily/*.jsonl.gz" in result.stdout
    assert "CREATE OR REPLACE VIEW `proj.wattline.daily_energy`" in result.stdout


def test_gcp_init_without_a_bucket_says_how_to_set_one(site: Path) -> None:
    result = runner.invoke(app, ["gcp", "init", "--project", "proj", "--dry-run"])
    assert result.exit_code == 2
    assert "WATTLINE_BUCKET" in result.output
