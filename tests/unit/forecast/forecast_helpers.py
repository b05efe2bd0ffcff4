"""Hourly series with known numbers for the forecast tests, and the UCI house as hourly energy."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from wattline.forecast import HourlyHistory

UCI_HOURLY = Path(__file__).parents[2] / "fixtures" / "uci" / "household-2007-02-hourly.csv"
MONDAY = date(2026, 11, 2)


def series(days: int, kwh: Callable[[int, int], float], first: date = MONDAY) -> HourlyHistory:
    """`days` full days from `first`; hour h of day d holds kwh(d, h)."""
    return HourlyHistory.from_rows((first + timedelta(days=d), h, kwh(d, h)) for d in range(days) for h in range(24))


def uci_rows() -> list[tuple[date, int, float]]:
    with UCI_HOURLY.open(newline="") as handle:
        return [(date.fromisoformat(r["date"]), int(r["hour"]), float(r["energy_kwh"])) for r in csv.DictReader(handle)]


def uci() -> HourlyHistory:
    return HourlyHistory.from_rows(uci_rows())
