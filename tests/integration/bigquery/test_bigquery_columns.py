"""`query_columns` on bqemulator and on DuckDB: the same arrays for the same query (the ColumnarWarehouse port)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from wattline.models import HourlyEnergy
from wattline.warehouse.bigquery import BigQueryWarehouse
from wattline.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.emulators

KEY = ["device_id", "channel", "hour_start"]
T0 = datetime(2026, 3, 28, 22, tzinfo=UTC)


def hours() -> list[dict[str, object]]:
    return [
        HourlyEnergy(
            device_id="em-1",
            channel=channel,
            hour_start=T0 + timedelta(hours=index),
            import_wh=87.654321 * index + channel,
            export_wh=0.0,
            estimated_wh=0.0,
            covered_s=3600.0,
            gap_s=0.0,
            samples=120,
            min_power_w=0.0,
            max_power_w=2000.0,
            mean_power_w=87.654321 * index,
            counter_resets=1 if index == 5 else 0,
            method="counter",
        ).model_dump()
        for index in range(30)
        for channel in (0, 1)
    ]


def test_query_columns_gives_the_same_arrays_on_bigquery_and_duckdb(bq_emulator: str) -> None:
    # Given the same hourly rows in both warehouses
    bigquery = BigQueryWarehouse(project="wattline-test", dataset=f"wl_{uuid.uuid4().hex[:8]}", endpoint=bq_emulator)
    bigquery.ensure_schema()
    bigquery.merge_rows("energy_hourly", hours(), KEY)
    duck = DuckDBWarehouse(":memory:")
    duck.merge_rows("energy_hourly", hours(), KEY)
    sql = (
        "SELECT device_id, channel, UNIX_MICROS(hour_start) AS hour_us, IF(channel = 0, NULL, import_wh) AS wh, "
        "counter_resets > 0 AS reset FROM `{{project}}.{{dataset}}.energy_hourly` "
        "WHERE device_id = 'em-1' ORDER BY hour_start, channel"
    )
    # When both answer one query in columns
    ours, theirs = bigquery.query_columns(sql), duck.query_columns(sql)
    duck.close()
    # Then the arrays are equal and of the same kinds, a NULL float as NaN
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].dtype.kind == theirs[name].dtype.kind, name
        assert np.array_equal(ours[name], theirs[name], equal_nan=ours[name].dtype.kind == "f"), name
    assert np.isnan(ours["wh"]).sum() == (ours["channel"] == 0).sum() == 30 and ours["reset"].sum() == 2
