"""The BigQuery ML side (docs/forecast.md, "BigQuery ML"): the ARIMA_PLUS model and the forecast_daily view parse
as BigQuery SQL (sqlglot; BigQuery ML itself is not emulated), and infra/gcp/forecast.sh --dry-run prints exactly
the two `bq query` commands that would create them, calling nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from helpers.gcp_scripts import commands_of, option
from sqlglot import expressions as exp

from wattline.warehouse.schema import SchemaContext, query_text, render, schema_objects

CONTEXT = SchemaContext(project="wattline-demo", dataset="wattline", timezone="Europe/Kyiv")


def parsed(name: str) -> exp.Expression:
    sql = render(query_text(name), CONTEXT.values())
    return sqlglot.parse_one(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_model_is_one_arima_plus_series_per_device_and_channel_over_local_days() -> None:
    statement = parsed("forecast_arima_model")
    assert isinstance(statement, exp.Create) and statement.kind == "MODEL"
    sql = statement.sql("bigquery")
    assert "`wattline-demo.wattline.forecast_arima`" in sql
    assert "model_type='ARIMA_PLUS'" in sql and "time_series_id_col=['device_id', 'channel']" in sql
    assert "data_frequency='DAILY'" in sql and "`wattline-demo.wattline.energy_hourly_local`" in sql
    assert "CURRENT_DATE('Europe/Kyiv')" in sql  # only complete local days before today train it


def test_the_view_forecasts_with_an_80_percent_interval_under_the_cli_s_column_names() -> None:
    statement = parsed("forecast_daily_view")
    assert isinstance(statement, exp.Create) and statement.kind == "VIEW"
    select = statement.expression
    assert isinstance(select, exp.Select)
    assert select.named_selects == ["device_id", "channel", "date", "energy_kwh", "lower", "upper", "model"]
    sql = statement.sql("bigquery")
    assert "ML.FORECAST(MODEL `wattline-demo.wattline.forecast_arima`" in sql
    assert "0.8 AS confidence_level" in sql


def test_gcp_init_never_applies_the_model_or_the_view() -> None:
    names = {obj.name for backend in ("bigquery", "duckdb") for obj in schema_objects(backend)}  # type: ignore[arg-type]
    assert not {n for n in names if "forecast" in n}


def test_the_dry_run_prints_the_model_then_the_view_and_calls_nothing(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/forecast.sh", PROJECT="wattline-demo", TIMEZONE="Europe/Paris")

    assert [c[:2] for c in commands] == [["bq", "--project_id"], ["bq", "--project_id"]]
    model, view = commands
    for command in commands:
        assert option(command, "--project_id") == "wattline-demo" and "--use_legacy_sql=false" in command
    assert model[-1].startswith("CREATE OR REPLACE MODEL `wattline-demo.wattline.forecast_arima`")
    assert "CURRENT_DATE('Europe/Paris')" in model[-1] and "{{" not in model[-1]
    assert view[-1].startswith("CREATE OR REPLACE VIEW `wattline-demo.wattline.forecast_daily`")
    for command in commands:
        assert sqlglot.parse_one(command[-1], read="bigquery", error_level=sqlglot.ErrorLevel.RAISE) is not None


@pytest.mark.parametrize("name", ["forecast_hourly"])
def test_the_cli_s_query_parses_as_bigquery_sql(name: str) -> None:
    assert isinstance(parsed(name), exp.Select)
