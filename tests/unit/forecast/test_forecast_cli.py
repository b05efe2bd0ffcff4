"""`wattline forecast` through the real command line on a DuckDB warehouse holding the UCI house's hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from forecast_helpers import uci, uci_rows
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.forecast import MIN_HISTORY_DAYS, forecast_document
from wattline.warehouse.duckdb import DuckDBWarehouse

runner = CliRunner()
KYIV = ZoneInfo("Europe/Kyiv")
KEY = ["device_id", "channel", "hour_start"]


def energy_rows(device_id: str, rows: list[tuple[object, int, float]], channel: int = 0) -> list[dict[str, object]]:
    """energy_hourly rows putting each (Kyiv local date, hour, kWh) at its local hour."""
    out = []
    for day, hour, kwh in rows:
        start = datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=KYIV).astimezone(UTC)
        out.append(
            {
                "device_id": device_id,
                "channel": channel,
                "hour_start": start,
                "import_wh": kwh * 1000.0 - 10.0,
                "export_wh": 0.0,
                "estimated_wh": 10.0,
                "covered_s": 3600.0,
                "gap_s": 0.0,
                "samples": 120,
                "min_power_w": 0.0,
                "max_power_w": 1.0,
                "mean_power_w": 1.0,
                "counter_resets": 0,
                "method": "counter",
            }
        )
    return out


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DuckDB warehouse (Europe/Kyiv) holding the UCI house as device `uci` and 3 days of device `new`."""
    for name in ("WAREHOUSE", "GCP_PROJECT", "BUCKET", "BQ_ENDPOINT", "TIMEZONE", "DUCKDB_PATH"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_HOME", str(tmp_path))
    monkeypatch.setenv("WATTLINE_WAREHOUSE", "duckdb")
    monkeypatch.setenv("WATTLINE_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-2zone")
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-2zone")
    store.merge_rows("energy_hourly", energy_rows("uci", uci_rows()), KEY)
    store.merge_rows("energy_hourly", energy_rows("new", uci_rows()[: 3 * 24], channel=1), KEY)
    store.close()
    return tmp_path


def test_json_has_seven_days_per_series_and_says_which_method_it_used(site: Path) -> None:
    result = runner.invoke(app, ["forecast", "--device", "uci", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["model_used", "forecasts", "backtest", "skipped", "protocol"]
    assert document["model_used"] in ("hour_of_week_profile", "seasonal_naive")
    assert [f["date"] for f in document["forecasts"]] == [f"2007-03-0{d}" for d in range(1, 8)]
    for row in document["forecasts"]:
        assert list(row) == ["device_id", "channel", "date", "energy_kwh", "lower", "upper", "model"]
        assert row["lower"] <= row["energy_kwh"] <= row["upper"]
    (score,) = document["backtest"]
    assert score["model"]["name"] == "hour_of_week_profile" and score["baseline"]["name"] == "seasonal_naive"
    assert score["last_complete_day"] == "2007-02-28" and score["interval_source"] == "rolling_origin"


def test_the_warehouse_path_gives_what_the_domain_gives_from_the_fixture(site: Path) -> None:
    # energy_wh = import_wh + estimated_wh through energy_hourly_local, summed per local hour, is the fixture's kWh
    result = runner.invoke(app, ["forecast", "--device", "uci", "--days", "3", "--format", "json"])

    expected = forecast_document({("uci", 0): uci()}, days=3)
    got = json.loads(result.stdout)
    assert [(f["date"], f["model"]) for f in got["forecasts"]] == [
        (f["date"], f["model"]) for f in expected["forecasts"]
    ]
    for ours, theirs in zip(got["forecasts"], expected["forecasts"], strict=True):
        for key in ("energy_kwh", "lower", "upper"):
            assert ours[key] == pytest.approx(theirs[key], abs=0.002)
    assert got["backtest"][0]["model"]["mae_kwh"] == pytest.approx(expected["backtest"][0]["model"]["mae_kwh"])


def test_a_series_too_short_is_skipped_with_its_reason_and_alone_it_is_an_error(site: Path) -> None:
    everything = runner.invoke(app, ["forecast", "--format", "json"])
    assert everything.exit_code == 0, everything.output
    assert json.loads(everything.stdout)["skipped"] == [
        {"device_id": "new", "channel": 1, "reason": f"need at least {MIN_HISTORY_DAYS} days of history, have 3"}
    ]

    alone = runner.invoke(app, ["forecast", "--device", "new"])
    assert alone.exit_code == 2
    assert "need at least 14 days of history, have 3" in alone.output


def test_backtest_prints_the_scores_without_forecasts(site: Path) -> None:
    result = runner.invoke(app, ["forecast", "--device", "uci", "--backtest", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "forecasts" not in document
    (score,) = document["backtest"]
    assert score["origins"] == 14 and score["pairs"] == 77


def test_the_table_names_the_method_and_both_errors(site: Path) -> None:
    result = runner.invoke(app, ["forecast", "--device", "uci", "--start", "2007-03-05", "--days", "2"])

    assert result.exit_code == 0, result.output
    assert "2007-03-05" in result.stdout and "2007-03-06" in result.stdout and "2007-03-04" not in result.stdout
    assert "using hour_of_week_profile" in result.stdout or "using seasonal_naive" in result.stdout
    assert "seasonal naive" in result.stdout


def test_an_unknown_format_is_refused(site: Path) -> None:
    result = runner.invoke(app, ["forecast", "--format", "csv"])
    assert result.exit_code == 2


def test_the_help_states_the_settings_the_module_uses() -> None:
    from wattline import forecast as settings

    text = " ".join(runner.invoke(app, ["forecast", "--help"], terminal_width=200).stdout.split())
    assert f"the last {settings.PROFILE_DAYS} days" in text and f"the last {settings.LEVEL_DAYS} days" in text
    assert f"last {settings.BACKTEST_WEEKS} weeks as origin, 1–{settings.BACKTEST_HORIZON} days ahead" in text
    assert f"at least {settings.MIN_HISTORY_DAYS} complete local days" in text
