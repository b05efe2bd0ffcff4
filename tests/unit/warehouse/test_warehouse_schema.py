"""SQL files, templating, and the BigQuery adapter's pure parts (nothing here contacts a server)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions as api_exceptions

import wattline
from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.warehouse.bigquery import BigQueryWarehouse, merge_statement, query_parameter, translate_error
from wattline.warehouse.schema import SchemaContext, render, schema_objects


def test_placeholders_are_filled_from_the_values() -> None:
    assert render("SELECT '{{timezone}}' FROM `{{ project }}.x`", {"timezone": "UTC", "project": "p"}) == (
        "SELECT 'UTC' FROM `p.x`"
    )


def test_a_placeholder_without_a_value_is_an_error_naming_it() -> None:
    with pytest.raises(PermanentError, match="bucket"):
        render("gs://{{bucket}}/daily", {"project": "p"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("tariff", "x'; DROP TABLE t; --"), ("dataset", "a.b"), ("bucket", "Bad Bucket"), ("timezone", "Mars/Olympus")],
)
def test_a_value_that_could_break_out_of_the_sql_is_refused(field: str, value: str) -> None:
    with pytest.raises(PermanentError):
        SchemaContext(project="p", **{field: value})


def test_bigquery_objects_start_with_the_dataset_and_end_with_the_views() -> None:
    paths = [obj.path for obj in schema_objects("bigquery")]
    assert paths[0] == "schema/010_dataset.sql"
    first_view = next(i for i, p in enumerate(paths) if p.startswith("views/"))
    assert all(p.startswith("views/") for p in paths[first_view:])
    assert "views/130_daily_energy.sql" in paths


def test_duckdb_gets_its_own_readings_ext_and_no_bigquery_only_ddl() -> None:
    paths = [obj.path for obj in schema_objects("duckdb")]
    assert "schema/021_readings_ext.duckdb.sql" in paths
    assert "schema/010_dataset.sql" not in paths
    assert "schema/020_readings_ext.sql" not in paths


def test_the_external_table_is_hive_partitioned_over_the_bucket_with_a_required_partition_filter() -> None:
    # Given a warehouse for bucket "archive" (the client is built lazily: nothing is contacted)
    warehouse = BigQueryWarehouse(project="proj", dataset="ds", bucket="archive")

    # When the DDL is rendered
    ddl = dict(warehouse.rendered_schema())["schema/020_readings_ext.sql"]

    # Then it reads the gzip NDJSON daily files with dt/device partitions and demands a dt filter
    assert "CREATE OR REPLACE EXTERNAL TABLE `proj.ds.readings_ext`" in ddl
    assert "WITH PARTITION COLUMNS" in ddl
    assert "uris = ['gs://archive/daily/*.jsonl.gz']" in ddl
    assert "hive_partition_uri_prefix = 'gs://archive/daily'" in ddl
    assert "require_hive_partition_filter = TRUE" in ddl


def test_against_the_emulator_the_partition_columns_clause_is_dropped() -> None:
    warehouse = BigQueryWarehouse(project="proj", bucket="archive", endpoint="http://127.0.0.1:1")
    ddl = dict(warehouse.rendered_schema())["schema/020_readings_ext.sql"]
    assert "PARTITION COLUMNS" not in ddl


def test_energy_hourly_is_partitioned_by_day_and_clustered_by_device() -> None:
    ddl = dict(BigQueryWarehouse(project="proj").rendered_schema())["schema/030_energy_hourly.sql"]
    assert "PARTITION BY DATE(hour_start)" in ddl
    assert "CLUSTER BY device_id" in ddl


def test_without_a_bucket_the_external_table_is_skipped() -> None:
    paths = [path for path, _ in BigQueryWarehouse(project="proj").rendered_schema()]
    assert "schema/020_readings_ext.sql" not in paths
    assert "schema/030_energy_hourly.sql" in paths


def test_views_use_the_site_time_zone_and_tariff_given_at_init() -> None:
    warehouse = BigQueryWarehouse(project="proj", timezone="Europe/Warsaw", tariff="ua-1zone")
    ddl = dict(warehouse.rendered_schema())
    assert "DATETIME(h.hour_start, 'Europe/Warsaw')" in ddl["views/100_energy_hourly_local.sql"]
    assert "WHERE tariff = 'ua-1zone'" in ddl["views/130_daily_energy.sql"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", "STRING"),
        (None, "STRING"),
        (True, "BOOL"),
        (3, "INT64"),
        (2.5, "FLOAT64"),
        (date(2026, 1, 1), "DATE"),
        (datetime(2026, 1, 1, tzinfo=UTC), "TIMESTAMP"),
    ],
)
def test_query_parameters_get_the_bigquery_type_of_their_python_value(value: object, expected: str) -> None:
    assert query_parameter("p", value).type_ == expected


def test_a_list_parameter_is_an_array_of_its_element_type() -> None:
    parameter = query_parameter("ids", ["a", "b"])
    assert (parameter.array_type, parameter.values) == ("STRING", ["a", "b"])


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (api_exceptions.NotFound("no table"), NotFoundError),
        (api_exceptions.ServiceUnavailable("later"), TransientError),
        (api_exceptions.TooManyRequests("slow down"), TransientError),
        (api_exceptions.InternalServerError("oops"), TransientError),
        (api_exceptions.Forbidden("quota", errors=[{"reason": "rateLimitExceeded"}]), TransientError),
        (requests.ConnectionError("refused"), TransientError),
        (api_exceptions.BadRequest("syntax"), PermanentError),
        (api_exceptions.Forbidden("denied", errors=[{"reason": "accessDenied"}]), PermanentError),
    ],
)
def test_api_errors_become_wattline_errors_by_type(exc: Exception, kind: type[Exception]) -> None:
    translated = translate_error(exc, "job")
    assert type(translated) is kind


def test_merge_on_a_partitioned_key_bounds_the_target_to_the_batch_partitions() -> None:
    # Given a MERGE keyed on the partitioning column hour_start
    sql = merge_statement(
        "p.d.t", "p.d.s", ["device_id", "hour_start", "import_wh"], ["device_id", "hour_start"], "hour_start"
    )

    # Then the target side is bounded by parameters, and every non-key column is updated
    assert "ON T.`device_id` = S.`device_id` AND T.`hour_start` = S.`hour_start` AND " in sql
    assert "T.`hour_start` BETWEEN @bound_lo AND @bound_hi" in sql
    assert "WHEN MATCHED THEN UPDATE SET `import_wh` = S.`import_wh` " in sql
    assert "WHEN NOT MATCHED THEN INSERT (`device_id`, `hour_start`, `import_wh`)" in sql


def test_an_unreachable_bigquery_endpoint_is_a_transient_error_within_the_retry_budget() -> None:
    # Given an endpoint nobody listens on (a port just bound and released) and a 1-second retry budget
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    warehouse = BigQueryWarehouse(project="proj", endpoint=f"http://127.0.0.1:{port}", retry_timeout_s=1.0)

    # When a query runs, Then it fails as transient (the platform retries the event), not after 10 minutes
    with pytest.raises(TransientError):
        warehouse.query("SELECT 1")


@pytest.mark.parametrize("path", [obj.path for obj in schema_objects("bigquery")])
def test_every_bigquery_object_parses_as_bigquery_sql(path: str) -> None:
    import sqlglot

    sql = dict(BigQueryWarehouse(project="proj", bucket="archive").rendered_schema())[path]
    assert sqlglot.parse_one(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE) is not None


def test_no_sql_comment_names_a_query_parameter() -> None:
    # bqemulator counts an @name in a comment as a parameter the query does not use, and refuses the query
    sql_root = Path(wattline.__file__).parent / "sql"
    offenders = [
        f"{path.relative_to(sql_root)}:{number}"
        for path in sorted(sql_root.rglob("*.sql"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "--" in line and re.search(r"@\w", line.split("--", 1)[1])
    ]
    assert offenders == []
