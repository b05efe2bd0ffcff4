"""The data of the dashboard's tariff comparison and forecast panels: `wattline.whatif` and `wattline.forecast`
results (the same computations as `wattline whatif` and `wattline forecast`), shaped for the charts. No I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from wattline.models import HourlyEnergy

if TYPE_CHECKING:
    from wattline.forecast import HourlyHistory
    from wattline.tariffs import Tariff

FORECAST_DAYS = 7
FORECAST_HISTORY_DAYS = 28  # recent complete days drawn before the forecast


@dataclass
class TariffCost:
    """One tariff's cost of the whole period over every meter: `wattline.whatif.compare_tariffs` rows summed."""

    tariff: str
    energy_kwh: float
    cost: float
    currency: str
    saving: float | None  # the current tariff's cost minus this one's (positive: cheaper); None across currencies


@dataclass
class SeriesForecast:
    """One device/channel: its recent daily energy and the forecast days (`wattline.forecast` document rows)."""

    device_id: str
    channel: int
    model_used: str
    history: list[tuple[date, float]]
    days: list[dict[str, Any]]  # {"date", "energy_kwh", "lower", "upper", "model"}, as `wattline forecast` prints


@dataclass
class ForecastPanel:
    series: list[SeriesForecast] = field(default_factory=list)
    unavailable: str = ""  # why no series could be forecast (e.g. too little history); shown instead of a chart
    skipped: list[str] = field(default_factory=list)  # series left out while others were forecast, with the reason


def tariff_costs(hourly: Sequence[HourlyEnergy], *, current: Tariff, timezone: str) -> list[TariffCost]:
    """The period priced under every preset and the current tariff (`wattline whatif` over the dashboard's hours),
    summed over devices and channels; in the what-if's tariff order."""
    from wattline.tariffs import PRESETS
    from wattline.whatif import compare_tariffs

    totals: dict[str, TariffCost] = {}
    for row in compare_tariffs(hourly, list(PRESETS.values()), current=current, timezone=timezone).rows:
        total = totals.setdefault(row["tariff"], TariffCost(row["tariff"], 0.0, 0.0, row["currency"], 0.0))
        total.energy_kwh += row["energy_kwh"]
        total.cost += row["cost"]
        total.saving = None if total.saving is None or row["saving"] is None else total.saving + row["saving"]
    return list(totals.values())


def forecast_panel(histories: dict[tuple[str, int], HourlyHistory], days: int = FORECAST_DAYS) -> ForecastPanel:
    """`wattline forecast`'s document for every series, with each series' recent complete days beside it."""
    from wattline.forecast import HistoryError, forecast_document

    try:
        document = forecast_document(histories, days=days)
    except HistoryError as exc:
        return ForecastPanel(unavailable=str(exc))
    series = []
    for score in document["backtest"]:
        key = (score["device_id"], score["channel"])
        history = histories[key]
        daily = history.daily()
        last = history.last_complete()
        recent = [
            (history.day(index), round(float(daily[index]), 3))
            for index in range(max(0, last + 1 - FORECAST_HISTORY_DAYS), last + 1)
            if not math.isnan(daily[index])  # a day without any data
        ]
        rows = [row for row in document["forecasts"] if (row["device_id"], row["channel"]) == key]
        series.append(SeriesForecast(key[0], key[1], score["model_used"], recent, rows))
    skipped = [f"{row['device_id']} channel {row['channel']}: {row['reason']}" for row in document["skipped"]]
    return ForecastPanel(series=series, skipped=skipped)
