"""The dashboard's tariff comparison, forecast and solar panels: collected from a small DuckDB home, then drawn.

Prices in 2026 (docs/tariffs.md): ua-1zone 4.32 UAH/kWh everywhere; ua-2zone night (23–07) 2.16, day 4.32.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.hourly import hour

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.forecast import HourlyHistory
from wattline.models import HourlyEnergy
from wattline.report.dashboard import (
    FORECAST_TITLE,
    TARIFF_TITLE,
    ReportData,
    collect,
    forecast_figure,
    render,
    solar_figure,
    tariff_figure,
)
from wattline.report.panel_data import FORECAST_DAYS, ForecastPanel, forecast_panel, tariff_costs
from wattline.solar import SolarDay
from wattline.tariffs import PRESETS
from wattline.warehouse.duckdb import DuckDBWarehouse

TZ = "Europe/Kyiv"
KYIV = ZoneInfo(TZ)
FIRST = date(2026, 11, 2)  # a Monday; no DST change in November


def _hours(device_id: str, days: int, wh: float = 1000.0, first: date = FIRST) -> list[HourlyEnergy]:
    """`wh` in every local hour of `days` Kyiv days from `first`."""
    start = datetime.combine(first, datetime.min.time(), KYIV).astimezone(UTC)
    return [hour(device_id, start + timedelta(hours=h), import_wh=wh) for h in range(24 * days)]


def _history(days: int) -> HourlyHistory:
    return HourlyHistory.from_rows((FIRST + timedelta(days=d), h, 1.0) for d in range(days) for h in range(24))


def _data(**panels: object) -> ReportData:
    return ReportData("panels", TZ, "UAH", datetime(2026, 11, 20, tzinfo=UTC), **panels)  # type: ignore[arg-type]


# -- tariff comparison ---------------------------------------------------------------------------------------------


def test_the_tariff_panel_prices_the_period_under_every_preset_summed_over_the_meters() -> None:
    # Given two meters using 1 kWh every hour of one Kyiv day (8 night hours, 16 day hours)
    hourly = _hours("a", 1) + _hours("b", 1)

    # When the period is compared with ua-1zone as the current tariff
    costs = {row.tariff: row for row in tariff_costs(hourly, current=PRESETS["ua-1zone"], timezone=TZ)}

    # Then every preset is there, with the cost of both meters and the saving against ua-1zone
    assert set(costs) == set(PRESETS)
    assert costs["ua-1zone"].cost == pytest.approx(2 * 24 * 4.32)
    assert costs["ua-1zone"].saving == pytest.approx(0.0)
    assert costs["ua-2zone"].cost == pytest.approx(2 * (8 * 2.16 + 16 * 4.32))
    assert costs["ua-2zone"].saving == pytest.approx(2 * 8 * (4.32 - 2.16))
    assert costs["ua-2zone"].energy_kwh == pytest.approx(48.0)
    assert {row.currency for row in costs.values()} == {"UAH"}


def test_a_period_without_energy_has_no_tariff_rows() -> None:
    assert tariff_costs([], current=PRESETS["ua-2zone"], timezone=TZ) == []


def test_the_tariff_figure_has_one_bar_per_tariff_and_names_the_current_one() -> None:
    rows = tariff_costs(_hours("a", 1), current=PRESETS["ua-2zone"], timezone=TZ)

    figure = tariff_figure(_data(current_tariff="ua-2zone", tariffs=rows))

    (bars,) = figure.data
    assert list(bars.x) == [row.tariff for row in rows]
    assert TARIFF_TITLE in figure.layout.title.text and "ua-2zone" in figure.layout.title.text


# -- forecast ------------------------------------------------------------------------------------------------------


def test_the_forecast_panel_gives_the_next_days_with_their_interval_and_the_recent_history() -> None:
    # Given 35 complete days of 1 kWh per hour
    panel = forecast_panel({("a", 0): _history(35)})

    # Then the next 7 days are forecast at 24 kWh, inside their interval, after the last 28 measured days
    (series,) = panel.series
    assert [row["date"] for row in series.days] == [
        (FIRST + timedelta(days=35 + i)).isoformat() for i in range(FORECAST_DAYS)
    ]
    for row in series.days:
        assert row["energy_kwh"] == pytest.approx(24.0)
        assert row["lower"] <= row["energy_kwh"] <= row["upper"]
    assert len(series.history) == 28
    assert series.history[-1] == (FIRST + timedelta(days=34), 24.0)
    assert panel.unavailable == "" and panel.skipped == []


def test_too_little_history_gives_the_reason_instead_of_a_forecast() -> None:
    panel = forecast_panel({("a", 0): _history(5)})

    assert panel.series == []
    assert "need at least 14 days of history, have 5" in panel.unavailable
    assert forecast_figure(_data(forecast=panel)) is None


def test_a_short_series_is_named_while_the_others_are_forecast() -> None:
    panel = forecast_panel({("a", 0): _history(21), ("b", 1): _history(3)})

    assert [(s.device_id, s.channel) for s in panel.series] == [("a", 0)]
    assert panel.skipped == ["b channel 1: need at least 14 days of history, have 3"]


def test_the_forecast_figure_draws_history_band_and_forecast_for_each_series() -> None:
    figure = forecast_figure(_data(forecast=forecast_panel({("a", 0): _history(21)})))

    assert figure is not None
    names = [trace.name for trace in figure.data]
    assert names[0] == "a ch 0 measured" and names[-1].startswith("a ch 0 forecast")
    assert [trace.fill for trace in figure.data].count("tonexty") == 1
    assert figure.layout.title.text == FORECAST_TITLE


# -- solar ---------------------------------------------------------------------------------------------------------


def test_without_solar_rows_the_solar_slot_draws_nothing() -> None:
    assert solar_figure(_data()) is None
    assert 'id="panel-solar"' not in render(_data())


def test_the_solar_panel_sums_the_sites_per_day_and_computes_self_sufficiency_from_the_sums() -> None:
    # Given two solar sites on one day: (self-consumed, exported, grid import, consumption) = (1, 3, 4, 5) and
    # (2, 0, 2, 4) kWh; and one site on the next day that consumed nothing
    solar = [
        _solar_day("a", "2026-11-02", self_used=1.0, exported=3.0, grid_in=4.0),
        _solar_day("b", "2026-11-02", self_used=2.0, exported=0.0, grid_in=2.0),
        _solar_day("a", "2026-11-03", self_used=0.0, exported=0.5, grid_in=0.0),
    ]

    # When the panel is drawn
    figure = solar_figure(_data(solar=solar))

    # Then each day's bars are the sums, and self-sufficiency is 3 / 9 (not the mean of 1/5 and 2/4), none on a day
    # without consumption
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces["self-consumed"].y) == [3.0, 0.0]
    assert list(traces["exported"].y) == [3.0, 0.5]
    assert list(traces["exported"].base) == [3.0, 0.0]  # stacked on the self-consumed part: the bar is generation
    assert list(traces["grid import"].y) == [6.0, 0.0]
    assert list(traces["self-sufficiency"].y) == [round(3 / 9, 4), None]
    assert 'id="panel-solar"' in render(_data(solar=solar))


def _solar_day(site: str, day: str, *, self_used: float, exported: float, grid_in: float) -> SolarDay:
    consumption = grid_in + self_used
    return SolarDay(
        device_id=site,
        date=day,
        timezone=TZ,
        generation_kwh=self_used + exported,
        grid_import_kwh=grid_in,
        export_kwh=exported,
        consumption_kwh=consumption,
        self_consumption_kwh=self_used,
        self_sufficiency=self_used / consumption if consumption else None,
        export_value=None,
        currency="UAH",
    )


# -- the page ------------------------------------------------------------------------------------------------------


def test_the_page_shows_the_tariff_and_forecast_charts() -> None:
    page = render(
        _data(
            current_tariff="ua-2zone",
            tariffs=tariff_costs(_hours("a", 1), current=PRESETS["ua-2zone"], timezone=TZ),
            forecast=forecast_panel({("a", 0): _history(21), ("b", 1): _history(3)}),
        )
    )

    assert 'id="chart-tariffs"' in page and 'id="chart-forecast"' in page
    assert "Not forecast: b channel 1: need at least 14 days of history, have 3" in page
    assert "No chart" not in page


def test_without_enough_history_the_page_shows_the_forecast_title_and_reason() -> None:
    page = render(_data(forecast=ForecastPanel(unavailable="need at least 14 days of history, have 1")))

    assert 'id="chart-forecast"' not in page and 'id="chart-tariffs"' not in page
    assert f"<h2>{FORECAST_TITLE}</h2><p>No chart: need at least 14 days of history, have 1.</p>" in page
    assert f"<h2>{TARIFF_TITLE}</h2><p>No chart: no energy in the period.</p>" in page


# -- collect() on a small home -------------------------------------------------------------------------------------


@pytest.fixture
def home_warehouse(tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    """A DuckDB warehouse (site tariff ua-2zone, Kyiv) holding 16 days of 1 kWh per hour of meter m."""
    store = DuckDBWarehouse(tmp_path / "warehouse.duckdb", tariff="ua-2zone", timezone=TZ)
    store.ensure_schema()
    store.merge_rows(
        "energy_hourly",
        [row.model_dump() for row in _hours("m", 16)],
        ["device_id", "channel", "hour_start"],
    )
    yield store
    store.close()


def test_collect_prices_the_period_and_forecasts_from_the_whole_history(home_warehouse: DuckDBWarehouse) -> None:
    # When the dashboard collects the last two days of a 16-day home
    data = collect(
        home_warehouse,
        MemoryObjectStore(),
        timezone=TZ,
        tariff=PRESETS["ua-2zone"],
        start=date(2026, 11, 16),
        end=date(2026, 11, 17),
        readings=lambda start, end: [],
    )

    # Then the tariff panel prices those two days (48 kWh) under every preset, against ua-2zone
    costs = {row.tariff: row for row in data.tariffs}
    assert data.current_tariff == "ua-2zone"
    assert costs["ua-1zone"].cost == pytest.approx(48 * 4.32)
    assert costs["ua-1zone"].saving == pytest.approx(-2 * 8 * (4.32 - 2.16))
    # And the forecast starts the day after the newest complete day, from all 16 days
    (series,) = data.forecast.series
    assert series.days[0]["date"] == "2026-11-18"
    assert len(series.history) == 16
