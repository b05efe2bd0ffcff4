"""The view tariff_comparison on DuckDB equals wattline.whatif (what `wattline whatif` prints), and it parses as
BigQuery SQL and transpiles to DuckDB."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers.hourly import KEY, dumps, hour, local_day_hours
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.models import HourlyEnergy
from wattline.tariffs import PRESETS
from wattline.warehouse.bigquery import BigQueryWarehouse
from wattline.warehouse.duckdb import DuckDBWarehouse
from wattline.whatif import compare_days

VIEW = "views/170_tariff_comparison.sql"


def _rows() -> list[HourlyEnergy]:
    """Two channels over the DST days and an ordinary day, irregular amounts, some estimated energy."""
    rows = []
    for day in ("2026-03-29", "2026-06-15", "2026-10-25"):
        for i, start in enumerate(local_day_hours(day)):
            rows.append(hour("m", start, import_wh=123.4567 * (i % 7), estimated_wh=0.25 * (i % 3)))
            rows.append(hour("m", start, import_wh=50.0 + i, channel=1))
    return rows


def test_the_view_gives_the_daily_rows_of_whatif(warehouse: DuckDBWarehouse) -> None:
    # Given irregular hours of two channels on DST days merged into the warehouse (site tariff ua-3zone)
    rows = _rows()
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When tariff_comparison is read
    got = warehouse.query(
        "SELECT * FROM `{{project}}.{{dataset}}.tariff_comparison` ORDER BY device_id, channel, date, tariff"
    )

    # Then each row is wattline.whatif's daily row for that tariff, saving against the site tariff
    expected = compare_days(rows, list(PRESETS.values()), current=PRESETS["ua-3zone"], timezone="Europe/Kyiv")
    assert len(got) == len(expected) == 2 * 3 * 3
    for mine, theirs in zip(got, expected, strict=True):
        assert {z["zone"]: z["kwh"] for z in mine["zones"]} == theirs["zones"]
        mine = {**mine, "zones": theirs["zones"]}
        assert {key: mine[key] for key in theirs} == theirs


def test_the_view_summed_over_the_period_equals_the_whatif_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same hours in a DuckDB warehouse the CLI reads (site tariff ua-3zone)
    for name in ("WAREHOUSE", "GCP_PROJECT", "BUCKET", "BQ_ENDPOINT", "TIMEZONE"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_HOME", str(tmp_path))
    monkeypatch.setenv("WATTLINE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-3zone")
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-3zone")
    store.merge_rows("energy_hourly", dumps(_rows()), KEY)
    view = store.query(
        "SELECT * FROM `{{project}}.{{dataset}}.tariff_comparison` WHERE date BETWEEN @a AND @b",
        {"a": date(2026, 3, 1), "b": date(2026, 10, 31)},
    )
    store.close()

    # When `wattline whatif --from --to --format json` reads the warehouse
    result = CliRunner().invoke(app, ["whatif", "--from", "2026-03-01", "--to", "2026-10-31", "--format", "json"])

    # Then each of its rows is the view's days summed (rounded like the CLI), saving included
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    assert len(cli) == 2 * 3
    for row in cli:
        days = [
            v
            for v in view
            if (v["device_id"], v["channel"], v["tariff"]) == (row["device_id"], row["channel"], row["tariff"])
        ]
        assert len(days) == 3
        assert row["cost"] == round(sum(d["cost"] for d in days), 4)
        assert row["saving"] == round(sum(d["saving"] for d in days), 4)
        assert row["energy_kwh"] == round(sum(d["energy_kwh"] for d in days), 6)
        for zone, kwh in row["zones"].items():
            assert kwh == round(sum(z["kwh"] for d in days for z in d["zones"] if z["zone"] == zone), 6)


@pytest.mark.parametrize("dialect", ["bigquery", "duckdb"])
def test_the_view_sql_parses_on_both_engines(dialect: str) -> None:
    import sqlglot

    from wattline.warehouse.transpile import to_duckdb

    sql = dict(BigQueryWarehouse(project="proj", bucket="archive").rendered_schema())[VIEW]
    text = sql if dialect == "bigquery" else to_duckdb(sql)
    assert sqlglot.parse_one(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) is not None
