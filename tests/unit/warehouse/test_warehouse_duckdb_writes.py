"""merge_rows and replace_rows on the embedded warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers.hourly import KEY, dumps, hour

from wattline.errors import NotFoundError, PermanentError
from wattline.warehouse.duckdb import DuckDBWarehouse

T0 = datetime(2026, 6, 15, 9, tzinfo=UTC)
T1 = datetime(2026, 6, 15, 10, tzinfo=UTC)


def _energy(warehouse: DuckDBWarehouse) -> list[tuple[object, ...]]:
    rows = warehouse.query(
        "SELECT device_id, channel, hour_start, import_wh FROM `{{project}}.{{dataset}}.energy_hourly` "
        "ORDER BY device_id, channel, hour_start"
    )
    return [tuple(row.values()) for row in rows]


def test_merging_the_same_rows_twice_leaves_one_row_per_key(warehouse: DuckDBWarehouse) -> None:
    # Given two hourly rows
    rows = dumps([hour("m", T0, import_wh=1.0), hour("m", T1, import_wh=2.0)])

    # When they are merged twice
    first = warehouse.merge_rows("energy_hourly", rows, KEY)
    second = warehouse.merge_rows("energy_hourly", rows, KEY)

    # Then the table holds them once
    assert (first, second) == (2, 2)
    assert _energy(warehouse) == [("m", 0, T0, 1.0), ("m", 0, T1, 2.0)]


def test_merging_a_row_with_an_existing_key_replaces_its_values(warehouse: DuckDBWarehouse) -> None:
    # Given a stored hour
    warehouse.merge_rows("energy_hourly", dumps([hour("m", T0, import_wh=1.0)]), KEY)

    # When a recomputed row for the same hour arrives, with its timestamp as an ISO string
    row = hour("m", T0, import_wh=5.0).model_dump(mode="json")
    warehouse.merge_rows("energy_hourly", [row], KEY)

    # Then the hour holds the new value
    assert _energy(warehouse) == [("m", 0, T0, 5.0)]


def test_the_last_of_duplicate_keys_in_one_batch_wins(warehouse: DuckDBWarehouse) -> None:
    # Given one batch with the same key twice
    rows = dumps([hour("m", T0, import_wh=1.0), hour("m", T0, import_wh=3.0)])

    # When it is merged
    written = warehouse.merge_rows("energy_hourly", rows, KEY)

    # Then one row is written, the last one
    assert written == 1
    assert _energy(warehouse) == [("m", 0, T0, 3.0)]


def test_merged_rows_get_a_load_time(warehouse: DuckDBWarehouse) -> None:
    # Given a row without loaded_at
    warehouse.merge_rows("energy_hourly", dumps([hour("m", T0)]), KEY)

    # When the table is read
    (row,) = warehouse.query("SELECT loaded_at FROM `{{project}}.{{dataset}}.energy_hourly`")

    # Then loaded_at is set, in UTC
    assert row["loaded_at"].tzinfo is not None


def test_a_field_that_is_not_a_column_is_rejected(warehouse: DuckDBWarehouse) -> None:
    # Given a row with a misspelt field
    row = {**hour("m", T0).model_dump(), "import_kwh": 1.0}

    # When it is merged, Then the error names the field
    with pytest.raises(PermanentError, match="import_kwh"):
        warehouse.merge_rows("energy_hourly", [row], KEY)


def test_merging_into_a_missing_table_is_not_found(warehouse: DuckDBWarehouse) -> None:
    with pytest.raises(NotFoundError):
        warehouse.merge_rows("no_such_table", [{"a": 1}], ["a"])


def test_replace_rows_replaces_only_the_matching_slice(warehouse: DuckDBWarehouse) -> None:
    # Given the preset tariffs are loaded
    def count(tariff: str) -> int:
        rows = warehouse.query(
            "SELECT COUNT(*) AS n FROM `{{project}}.{{dataset}}.tariff_zone_hours` WHERE tariff = @tariff",
            {"tariff": tariff},
        )
        return int(rows[0]["n"])

    assert count("ua-2zone") == 168

    # When ua-2zone's rows are replaced by a single row
    warehouse.replace_rows(
        "tariff_zone_hours",
        [{"tariff": "ua-2zone", "zone": "day", "weekday": 1, "local_hour": 0}],
        {"tariff": "ua-2zone"},
    )

    # Then ua-2zone has that row only and ua-3zone is untouched
    assert (count("ua-2zone"), count("ua-3zone")) == (1, 168)


def test_a_file_warehouse_keeps_its_rows_across_connections(tmp_path: object) -> None:
    # Given a warehouse file with one merged row
    path = f"{tmp_path}/sub/warehouse.duckdb"
    first = DuckDBWarehouse(path)
    first.merge_rows("energy_hourly", dumps([hour("m", T0, import_wh=4.0)]), KEY)
    first.close()

    # When the file is opened again
    second = DuckDBWarehouse(path)

    # Then the row is there
    assert _energy(second) == [("m", 0, T0, 4.0)]
    second.close()


def test_the_same_hour_written_as_z_text_and_as_offset_text_is_one_key(warehouse: DuckDBWarehouse) -> None:
    # Given one hour written twice in one batch, once as ...Z and once as the same instant in +02:00
    row = hour("m", T0, import_wh=1.0).model_dump(mode="json")
    again = {**row, "hour_start": "2026-06-15T11:00:00+02:00", "import_wh": 2.0}

    # When the batch is merged
    written = warehouse.merge_rows("energy_hourly", [row, again], KEY)

    # Then it is one row, the last one
    assert written == 1
    assert _energy(warehouse) == [("m", 0, T0, 2.0)]


def test_a_duckdb_file_name_that_cannot_be_a_catalog_name_is_refused_with_advice(tmp_path: object) -> None:
    warehouse = DuckDBWarehouse(f"{tmp_path}/my warehouse.duckdb")
    with pytest.raises(PermanentError, match="name the file"):
        warehouse.ensure_schema()
