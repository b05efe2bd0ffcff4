"""The BigQuery adapter and `wattline gcp init` against bqemulator: DDL, MERGE idempotency, the same views as DuckDB.

bqemulator accepts the external table but returns no rows from it, so its rows are not tested here (the DuckDB
analogue over local files is, in tests/unit/warehouse).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.daily import daily_energy
from wattline.tariffs import PRESETS, load_tariff
from wattline.warehouse import daily_from_row
from wattline.warehouse.bigquery import BigQueryWarehouse
from wattline.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.emulators

PROJECT = "wattline-test"
KEY = ["device_id", "channel", "hour_start"]
BUCKET = "wattline-archive-test"


def _hourly_rows() -> list[dict[str, object]]:
    """Two local days (the 23-hour DST day and the next) of two channels, with estimates, gaps and resets."""
    from helpers.hourly import hour, local_day_hours

    rows = []
    for index, start in enumerate(local_day_hours("2026-03-29") + local_day_hours("2026-03-30")):
        for channel in (0, 1):
            rows.append(
                hour(
                    "em-1",
                    start,
                    channel=channel,
                    import_wh=87.654321 * (index % 6) + channel,
                    estimated_wh=1.25 if index % 7 == 0 else 0.0,
                    export_wh=0.5 * (index % 2),
                    covered_s=3600.0 - 30.0 * (index % 3),
                    gap_s=30.0 * (index % 3),
                    counter_resets=1 if index == 5 else 0,
                    method="trapezoid" if index % 4 == 0 else "counter",
                ).model_dump()
            )
    return rows


@pytest.fixture(scope="module")
def initialised(bq_emulator: str) -> Iterator[BigQueryWarehouse]:
    """A dataset made by `wattline gcp init` (site tariff ua-3zone), with the test rows merged once."""
    dataset = f"wl_{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(
        app,
        [
            "gcp",
            "init",
            "--project",
            PROJECT,
            "--dataset",
            dataset,
            "--bucket",
            BUCKET,
            "--endpoint",
            bq_emulator,
            "--tz",
            "Europe/Kyiv",
            "--tariff",
            "ua-3zone",
        ],
    )
    assert result.exit_code == 0, result.output
    warehouse = BigQueryWarehouse(
        project=PROJECT, dataset=dataset, endpoint=bq_emulator, bucket=BUCKET, tariff="ua-3zone"
    )
    warehouse.merge_rows("energy_hourly", _hourly_rows(), KEY)
    yield warehouse


def test_gcp_init_creates_the_tables_views_and_external_table(initialised: BigQueryWarehouse) -> None:
    # Given a dataset made by `wattline gcp init`
    client = initialised.client
    dataset = f"{PROJECT}.{initialised.context.dataset}"

    # When its objects are listed
    names = {table.table_id for table in client.list_tables(dataset)}

    # Then every table and view is there, the external table included
    assert {
        "readings_ext",
        "energy_hourly",
        "tariff_zone_hours",
        "tariff_prices",
        "daily_energy",
        "monthly_energy",
        "hourly_profile",
        "data_quality",
        "tariff_comparison",
        "tariff_export_prices",
        "channel_roles",
        "solar_hourly",
        "solar_daily",
    } <= names


def test_gcp_init_run_again_keeps_the_data(initialised: BigQueryWarehouse, bq_emulator: str) -> None:
    # Given a dataset with rows
    before = initialised.query("SELECT COUNT(*) AS n FROM `{{project}}.{{dataset}}.energy_hourly`")

    # When init runs again
    result = CliRunner().invoke(
        app,
        [
            *("gcp", "init", "--project", PROJECT, "--dataset", initialised.context.dataset),
            *("--bucket", BUCKET, "--endpoint", bq_emulator, "--tariff", "ua-3zone"),
        ],
    )

    # Then it succeeds and the rows are still there, with one set of rows per tariff
    assert result.exit_code == 0, result.output
    assert initialised.query("SELECT COUNT(*) AS n FROM `{{project}}.{{dataset}}.energy_hourly`") == before
    counts = initialised.query(
        "SELECT tariff, COUNT(*) AS n FROM `{{project}}.{{dataset}}.tariff_zone_hours` GROUP BY tariff ORDER BY tariff"
    )
    assert counts == [{"tariff": name, "n": 168} for name in sorted(PRESETS)]


def test_merging_the_same_rows_again_changes_nothing(initialised: BigQueryWarehouse) -> None:
    # Given the rows merged once (by the fixture)
    def snapshot() -> list[dict[str, object]]:
        return initialised.query(
            "SELECT * EXCEPT (loaded_at) FROM `{{project}}.{{dataset}}.energy_hourly` "
            "ORDER BY device_id, channel, hour_start"
        )

    before = snapshot()

    # When the same rows are merged again
    written = initialised.merge_rows("energy_hourly", _hourly_rows(), KEY)

    # Then the table is unchanged: one row per key, same values
    assert written == len(before) == 94
    assert snapshot() == before


def test_a_merged_row_with_an_existing_key_replaces_it(initialised: BigQueryWarehouse) -> None:
    # Given a stored hour, When a recomputed row for it is merged
    row = {**_hourly_rows()[0], "import_wh": 999.0, "device_id": "em-replace"}
    initialised.merge_rows("energy_hourly", [row], KEY)
    initialised.merge_rows("energy_hourly", [{**row, "import_wh": 5.0}], KEY)

    # Then the hour holds the new value, once
    rows = initialised.query(
        "SELECT import_wh FROM `{{project}}.{{dataset}}.energy_hourly` WHERE device_id = @device",
        {"device": "em-replace"},
    )
    assert rows == [{"import_wh": 5.0}]


def test_daily_energy_on_bigquery_equals_duckdb_and_the_python_rollup_for_every_tariff(
    initialised: BigQueryWarehouse,
) -> None:
    # Given the same hourly rows in BigQuery (emulator) and in DuckDB, and every preset tariff loaded in both
    duck = DuckDBWarehouse(":memory:", tariff="ua-3zone")
    duck.merge_rows("energy_hourly", _hourly_rows(), KEY)
    sql = (
        "SELECT * FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs` WHERE device_id = 'em-1' "
        "ORDER BY tariff, device_id, channel, date"
    )

    # When daily energy of every tariff is read from both
    from_bq = initialised.query(sql)
    from_duck = duck.query(sql)
    duck.close()

    # Then both give, tariff by tariff, exactly what wattline.daily computes from the rows
    from wattline.models import HourlyEnergy

    hourly = [HourlyEnergy(**r) for r in _hourly_rows()]
    for name in sorted(PRESETS):
        tariff = load_tariff(name)
        expected = [d.model_dump() for d in daily_energy(hourly, tariff=tariff, timezone="Europe/Kyiv")]
        assert [daily_from_row(r, tariff).model_dump() for r in from_bq if r["tariff"] == name] == expected, name
        assert [daily_from_row(r, tariff).model_dump() for r in from_duck if r["tariff"] == name] == expected, name


def test_wattline_energy_reads_the_site_tariffs_daily_energy_from_bigquery(
    initialised: BigQueryWarehouse, bq_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given settings that point `wattline energy` at the emulator's dataset
    for name, value in {
        "WAREHOUSE": "bigquery",
        "GCP_PROJECT": PROJECT,
        "BQ_DATASET": initialised.context.dataset,
        "BQ_ENDPOINT": bq_emulator,
        "TARIFF": "ua-3zone",
        "TIMEZONE": "Europe/Kyiv",
    }.items():
        monkeypatch.setenv(f"WATTLINE_{name}", value)

    # When it prints JSON for the DST day
    result = CliRunner().invoke(
        app, ["energy", "--from", "2026-03-29", "--to", "2026-03-29", "--device", "em-1", "--format", "json"]
    )

    # Then the objects are wattline.daily's for the same rows
    from wattline.models import HourlyEnergy

    assert result.exit_code == 0, result.output
    hourly = [HourlyEnergy(**r) for r in _hourly_rows()]
    expected = daily_energy(hourly, tariff=load_tariff("ua-3zone"), timezone="Europe/Kyiv")
    assert json.loads(result.stdout) == [d.model_dump() for d in expected if d.date == "2026-03-29"]


def test_the_other_views_run_and_agree_with_duckdb(initialised: BigQueryWarehouse) -> None:
    duck = DuckDBWarehouse(":memory:", tariff="ua-3zone")
    duck.merge_rows("energy_hourly", _hourly_rows(), KEY)
    for view, order in (
        ("monthly_energy", "device_id, channel, month"),
        ("hourly_profile", "device_id, channel, weekday, local_hour"),
        ("data_quality", "device_id, channel, date"),
        ("tariff_comparison", "device_id, channel, date, tariff"),
    ):
        sql = f"SELECT * FROM `{{{{project}}}}.{{{{dataset}}}}.{view}` WHERE device_id = 'em-1' ORDER BY {order}"
        assert initialised.query(sql) == duck.query(sql), view
    duck.close()


def test_a_merge_bounded_to_the_batch_partitions_still_updates_and_inserts(initialised: BigQueryWarehouse) -> None:
    # Given a day-partitioned table (made through the API: the emulator keeps partitioning only that way)
    from datetime import UTC, datetime

    from google.cloud import bigquery

    table = bigquery.Table(
        f"{PROJECT}.{initialised.context.dataset}.partitioned_probe",
        schema=[
            bigquery.SchemaField("device_id", "STRING", "REQUIRED"),
            bigquery.SchemaField("hour_start", "TIMESTAMP", "REQUIRED"),
            bigquery.SchemaField("value", "FLOAT64"),
        ],
    )
    table.time_partitioning = bigquery.TimePartitioning(field="hour_start")
    initialised.client.create_table(table)
    first = [{"device_id": "a", "hour_start": datetime(2026, 1, 1, h, tzinfo=UTC), "value": float(h)} for h in range(3)]
    initialised.merge_rows("partitioned_probe", first, ["device_id", "hour_start"])

    # When a batch updates one stored hour and adds one on the next day
    later = [{**first[0], "value": 9.0}, {"device_id": "a", "hour_start": "2026-01-02T00:00:00Z", "value": 1.0}]
    initialised.merge_rows("partitioned_probe", later, ["device_id", "hour_start"])

    # Then the hour is updated, the new one inserted, the others untouched
    rows = initialised.query("SELECT value FROM `{{project}}.{{dataset}}.partitioned_probe` ORDER BY hour_start")
    assert [r["value"] for r in rows] == [9.0, 1.0, 2.0, 1.0]


def test_replace_rows_replaces_one_tariff_and_leaves_the_others(initialised: BigQueryWarehouse) -> None:
    # Given two rows of a tariff named "probe"
    def row(hour: int) -> dict[str, object]:
        return {"tariff": "probe", "zone": "all", "weekday": 1, "local_hour": hour}

    initialised.replace_rows("tariff_zone_hours", [row(0), row(1)], {"tariff": "probe"})

    # When its rows are replaced by one row
    initialised.replace_rows("tariff_zone_hours", [row(5)], {"tariff": "probe"})

    # Then "probe" has just that row and ua-2zone still has its 168
    counts = initialised.query(
        "SELECT tariff, COUNT(*) AS n, MAX(local_hour) AS h FROM `{{project}}.{{dataset}}.tariff_zone_hours` "
        "WHERE tariff IN ('probe', 'ua-2zone') GROUP BY tariff ORDER BY tariff"
    )
    assert counts == [{"tariff": "probe", "n": 1, "h": 5}, {"tariff": "ua-2zone", "n": 168, "h": 23}]


def test_a_dataset_that_was_never_initialised_is_not_found_with_advice(bq_emulator: str) -> None:
    from wattline.errors import NotFoundError

    warehouse = BigQueryWarehouse(project=PROJECT, dataset="never_created", endpoint=bq_emulator)
    with pytest.raises(NotFoundError, match="wattline gcp init"):
        warehouse.merge_rows("energy_hourly", _hourly_rows()[:1], KEY)


def test_solar_daily_on_bigquery_equals_duckdb_and_the_python_library(initialised: BigQueryWarehouse) -> None:
    # Given channel 1 of em-1 as a solar clamp and the site tariff ua-3zone with an export price, in BigQuery
    # (emulator) and DuckDB alike
    from dataclasses import replace

    from wattline.models import HourlyEnergy
    from wattline.solar import parse_channel_roles, solar_days, solar_hours
    from wattline.tariffs import PricePeriod
    from wattline.warehouse import load_channel_roles, load_tariffs

    roles = parse_channel_roles("em-1:1=solar")
    priced = replace(load_tariff("ua-3zone"), export_prices=(PricePeriod(date(2026, 3, 30), None, 1.5),))
    duck = DuckDBWarehouse(":memory:", tariff="ua-3zone")
    duck.merge_rows("energy_hourly", _hourly_rows(), KEY)
    try:
        for store in (initialised, duck):
            load_channel_roles(store, roles)
            load_tariffs(store, [priced])

        # When solar_daily and solar_hourly are read from both
        daily = "SELECT * FROM `{{project}}.{{dataset}}.solar_daily` WHERE device_id = 'em-1' ORDER BY date"
        hourly = "SELECT * FROM `{{project}}.{{dataset}}.solar_hourly` WHERE device_id = 'em-1' ORDER BY hour_start"
        from_bq, from_duck = initialised.query(daily), duck.query(daily)

        # Then both are wattline.solar's days (the 23-hour DST day unpriced, the next day priced at 1.5)
        hours = [HourlyEnergy(**r) for r in _hourly_rows()]
        expected = [d.model_dump() for d in solar_days(hours, roles, tariff=priced, timezone="Europe/Kyiv")]
        assert [{**r, "date": r["date"].isoformat()} for r in from_bq] == expected
        assert [{**r, "date": r["date"].isoformat()} for r in from_duck] == expected
        assert [d["export_value"] is None for d in expected] == [True, False]
        assert initialised.query(hourly) == duck.query(hourly)
        assert len(duck.query(hourly)) == len(solar_hours(hours, roles)) == 23 + 24
    finally:
        load_channel_roles(initialised, {})
        load_tariffs(initialised, [load_tariff("ua-3zone")])
        duck.close()
