"""The views solar_hourly and solar_daily on DuckDB equal wattline.solar (what `wattline analyze` prints), the
channel_roles table follows the setting, `wattline energy` prints the solar section, and the views' SQL parses as
BigQuery and transpiles to DuckDB (bqemulator runs them in tests/integration/bigquery)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers.hourly import KEY, dumps, hour, local_day_hours
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.daily import daily_energy
from wattline.models import HourlyEnergy
from wattline.solar import parse_channel_roles, solar_days, solar_hours
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_solar_days, init_warehouse, load_channel_roles, load_tariffs
from wattline.warehouse.bigquery import BigQueryWarehouse
from wattline.warehouse.duckdb import DuckDBWarehouse
from wattline.warehouse.settings import WarehouseSettings

SITE = "shellyproem50-08f9e0e67204"
ROLES_TEXT = f"{SITE}:1=solar,{SITE}:2=load,em-plus:1=solar+"
ROLES = parse_channel_roles(ROLES_TEXT)
UA3_ACTIVE = load_tariff("ua-3zone-active")
runner = CliRunner()


def solar_rows() -> list[HourlyEnergy]:
    """Two sites over both Kyiv DST days and an ordinary day: irregular import, export and estimated energy on an
    unlisted (grid) channel 0, a solar channel, a load channel, a solar+ site, and a device without roles."""
    rows = []
    for day in ("2026-03-29", "2026-06-15", "2026-10-25"):
        for i, start in enumerate(local_day_hours(day)):
            sun = max(0, 6 - abs(i - 12))  # 0 at night, up to 6 at noon
            rows += [
                hour(
                    SITE,
                    start,
                    channel=0,
                    import_wh=310.123457 * (i % 5),
                    export_wh=97.5 * max(0, sun - 2),
                    estimated_wh=0.75 * (i % 3),
                ),
                hour(SITE, start, channel=1, import_wh=1.9 if sun == 0 else 0.0, export_wh=211.111 * sun),
                hour(SITE, start, channel=2, import_wh=55.5),
                hour("em-plus", start, channel=0, import_wh=40.0 + i, export_wh=13.3 * sun),
                hour("em-plus", start, channel=1, import_wh=123.456 * sun, export_wh=0.7),
                hour("em-other", start, channel=0, import_wh=99.0, export_wh=1.0),
            ]
    return rows


@pytest.fixture
def solar_site(tmp_path: Path) -> DuckDBWarehouse:
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-3zone-active", extra_tariffs=[UA3_ACTIVE])
    store.merge_rows("energy_hourly", dumps(solar_rows()), KEY)
    load_channel_roles(store, ROLES)
    return store


def test_solar_daily_gives_the_solar_days_of_the_library(solar_site: DuckDBWarehouse) -> None:
    # When the view is read
    got = solar_site.query("SELECT * FROM `{{project}}.{{dataset}}.solar_daily` ORDER BY device_id, date")

    # Then every row is wattline.solar's day (same keys, same rounding), DST days included
    expected = [d.model_dump() for d in solar_days(solar_rows(), ROLES, tariff=UA3_ACTIVE, timezone="Europe/Kyiv")]
    assert len(got) == len(expected) == 2 * 3
    assert [{**row, "date": row["date"].isoformat()} for row in got] == expected
    assert all(row["export_value"] is not None and row["self_sufficiency"] is not None for row in got)


def test_solar_hourly_gives_the_solar_hours_of_the_library(solar_site: DuckDBWarehouse) -> None:
    got = solar_site.query("SELECT * FROM `{{project}}.{{dataset}}.solar_hourly` ORDER BY device_id, hour_start")
    expected = solar_hours(solar_rows(), ROLES)
    assert len(got) == len(expected) == 2 * (23 + 24 + 25)
    for row, h in zip(got, expected, strict=True):
        assert (row["device_id"], row["hour_start"]) == (h.device_id, h.hour_start)
        for name in ("generation_wh", "grid_import_wh", "export_wh", "self_consumption_wh", "consumption_wh"):
            assert row[name] == pytest.approx(getattr(h, name), rel=1e-12, abs=1e-9), name


def test_fetch_solar_days_is_what_the_library_makes_of_the_warehouse_hours(solar_site: DuckDBWarehouse) -> None:
    # When the rows of one site are fetched for a date range, priced with a tariff without export pricing
    two_zones = load_tariff("ua-2zone")
    days = fetch_solar_days(
        solar_site,
        date(2026, 3, 1),
        date(2026, 6, 30),
        tariff=two_zones,
        roles=ROLES,
        timezone="Europe/Kyiv",
        device_id=SITE,
    )

    # Then they are the library's days of that site in the range (what analyze prints), with no export value
    expected = [
        d
        for d in solar_days(solar_rows(), ROLES, tariff=two_zones, timezone="Europe/Kyiv")
        if d.device_id == SITE and d.date <= "2026-06-30"
    ]
    assert days == expected
    assert days and all(day.export_value is None for day in days)


def test_without_roles_the_solar_views_are_empty(warehouse: DuckDBWarehouse) -> None:
    warehouse.merge_rows("energy_hourly", dumps(solar_rows()), KEY)
    assert warehouse.query("SELECT * FROM `{{project}}.{{dataset}}.solar_daily`") == []


def test_init_warehouse_replaces_the_roles_with_the_settings(
    solar_site: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given roles loaded before, When init runs with settings naming one other channel
    monkeypatch.setenv("WATTLINE_CHANNELS", "em-other:0=grid")
    settings = WarehouseSettings(tariff="ua-3zone-active")
    init_warehouse(solar_site, settings)

    # Then the table holds exactly the settings' roles
    rows = solar_site.query("SELECT * FROM `{{project}}.{{dataset}}.channel_roles`")
    assert rows == [{"device_id": "em-other", "channel": 0, "role": "grid"}]
    exported = solar_site.query("SELECT * FROM `{{project}}.{{dataset}}.tariff_export_prices` ORDER BY tariff")
    assert {row["tariff"] for row in exported} == {"ua-3zone-active"}


@pytest.fixture
def site_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WAREHOUSE", "GCP_PROJECT", "BUCKET", "BQ_ENDPOINT", "TIMEZONE"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_HOME", str(tmp_path))
    monkeypatch.setenv("WATTLINE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-3zone-active")
    monkeypatch.setenv("WATTLINE_CHANNELS", ROLES_TEXT)
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-3zone-active", extra_tariffs=[UA3_ACTIVE])
    store.merge_rows("energy_hourly", dumps(solar_rows()), KEY)
    store.close()
    return tmp_path


def test_energy_json_has_the_channel_days_and_the_solar_days_of_the_library(site_env: Path) -> None:
    # When `wattline energy --format json` reads the home with roles set (WATTLINE_CHANNELS)
    result = runner.invoke(app, ["energy", "--from", "2026-03-29", "--to", "2026-10-25", "--format", "json"])

    # Then it prints {"days": wattline.daily's rows, "solar": wattline.solar's rows}, export valued on grid channels
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    rows = solar_rows()
    tz = "Europe/Kyiv"
    assert printed["days"] == [d.model_dump() for d in daily_energy(rows, tariff=UA3_ACTIVE, timezone=tz, roles=ROLES)]
    assert printed["solar"] == [d.model_dump() for d in solar_days(rows, ROLES, tariff=UA3_ACTIVE, timezone=tz)]
    valued = {(d["device_id"], d["channel"]) for d in printed["days"] if "export_value" in d}
    assert valued == {(SITE, 0), ("em-plus", 0), ("em-other", 0)}  # grid channels only, never the PV clamps


def test_energy_table_shows_a_solar_table_per_site(site_env: Path) -> None:
    result = runner.invoke(app, ["energy", "--from", "2026-06-15", "--to", "2026-06-15"])
    assert result.exit_code == 0, result.output
    assert f"{SITE} solar: kWh per local day, export value in UAH" in result.stdout
    assert "em-plus solar" in result.stdout and "em-other solar" not in result.stdout


def test_energy_with_another_tariff_values_export_at_its_price(site_env: Path) -> None:
    # When the days are priced with ua-1zone (no export price) instead of the site's ua-3zone-active
    result = runner.invoke(
        app, ["energy", "--from", "2026-06-15", "--to", "2026-06-15", "--format", "json", "--tariff", "ua-1zone"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert all("export_value" not in day for day in printed["days"])
    assert [day["export_value"] for day in printed["solar"]] == [None, None]


def test_load_tariffs_writes_the_export_prices(warehouse: DuckDBWarehouse) -> None:
    load_tariffs(warehouse, [UA3_ACTIVE])
    rows = warehouse.query(
        "SELECT * FROM `{{project}}.{{dataset}}.tariff_export_prices` WHERE tariff = 'ua-3zone-active'"
    )
    assert rows == [
        {
            "tariff": "ua-3zone-active",
            "valid_from": date(2023, 6, 30),
            "valid_to": None,
            "price": 2.67104,
            "currency": "UAH",
        }
    ]


@pytest.mark.parametrize("view", ["views/180_solar_hourly.sql", "views/185_solar_daily.sql"])
@pytest.mark.parametrize("dialect", ["bigquery", "duckdb"])
def test_the_view_sql_parses_on_both_engines(view: str, dialect: str) -> None:
    import sqlglot

    from wattline.warehouse.transpile import to_duckdb

    sql = dict(BigQueryWarehouse(project="proj", bucket="archive").rendered_schema())[view]
    text = sql if dialect == "bigquery" else to_duckdb(sql)
    assert sqlglot.parse_one(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) is not None


def test_energy_on_a_home_reads_the_roles_from_its_wattline_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a home whose wattline.toml has the site tariff and a [channels] table, and no WATTLINE_* roles
    for name in ("WAREHOUSE", "GCP_PROJECT", "BUCKET", "BQ_ENDPOINT", "TIMEZONE", "DUCKDB_PATH", "TARIFF", "CHANNELS"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    (tmp_path / "wattline.toml").write_text(
        'tariff = "ua-3zone-active"\n[channels]\n'
        + "".join(f'"{d}:{c}" = "{r.value}"\n' for (d, c), r in ROLES.items())
    )
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-3zone-active", extra_tariffs=[UA3_ACTIVE])
    store.merge_rows("energy_hourly", dumps(solar_rows()), KEY)
    store.close()

    # When `wattline energy --home` prints JSON
    result = runner.invoke(
        app, ["energy", "--home", str(tmp_path), "--from", "2026-06-15", "--to", "2026-06-15", "--format", "json"]
    )

    # Then the solar rows are the library's for those roles
    assert result.exit_code == 0, result.output
    expected = solar_days(solar_rows(), ROLES, tariff=UA3_ACTIVE, timezone="Europe/Kyiv")
    assert json.loads(result.stdout)["solar"] == [d.model_dump() for d in expected if d.date == "2026-06-15"]
