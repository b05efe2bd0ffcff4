"""The engine on a real house: five days of the UCI household series (tests/fixtures/uci, CC BY 4.0)."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from wattline.energy import compute_hourly_arrays

FIXTURE = Path(__file__).parents[2] / "fixtures" / "uci" / "household-2007-02-19_23-1min.csv.gz"
PARIS = ZoneInfo("Europe/Paris")
INNER_DAYS = [date(2007, 2, d) for d in (19, 20, 21, 22)]  # the last day's final minute has no next sample


@pytest.fixture(scope="module")
def house() -> dict[str, np.ndarray]:
    ts, kw, sub = [], [], []
    with gzip.open(FIXTURE, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            local = datetime.strptime(f"{row['date']} {row['time']}", "%d/%m/%Y %H:%M:%S").replace(tzinfo=PARIS)
            ts.append(local.timestamp())
            missing = row["global_active_power"] == "NA"
            kw.append(np.nan if missing else float(row["global_active_power"]))
            sub.append(0.0 if missing else sum(float(row[f"sub_metering_{i}"]) for i in (1, 2, 3)))
    return {"ts": np.array(ts), "w": np.array(kw) * 1000, "sub_wh": np.array(sub)}


def _daily(house: dict[str, np.ndarray], method: str) -> dict[date, dict[str, float]]:
    # Each row is the mean power over the minute that starts at its time stamp: held for 60 s (locf), max_gap 60 s.
    result = compute_hourly_arrays("uci-sceaux", 0, house["ts"], house["w"], tz=PARIS, method=method, max_gap_s=60.0)
    days: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in result.hourly:
        day = days[row.hour_start.astimezone(PARIS).date()]
        day["wh"] += row.import_wh
        day["gap_s"] += row.gap_s
        day["hours"] += 1
    return days


def _by_day(house: dict[str, np.ndarray], values: np.ndarray) -> dict[date, float]:
    days: dict[date, float] = defaultdict(float)
    for ts, value in zip(house["ts"], values, strict=True):
        days[datetime.fromtimestamp(ts, PARIS).date()] += value
    return days


def test_daily_energy_from_minute_means_equals_their_sum(house: dict[str, np.ndarray]) -> None:
    # Given minute-mean power held over its minute, When integrated per local day
    days = _daily(house, "locf")
    # Then each full day equals sum(global_active_power)/60 (kWh), except the minute before the NA gap on the 22nd
    expected = _by_day(house, np.nan_to_num(house["w"]) / 60)
    for day in INNER_DAYS:
        assert days[day]["hours"] == 24
        if day != date(2007, 2, 22):
            assert days[day]["wh"] == pytest.approx(expected[day], rel=1e-12)
    lost_minute = house["w"][np.flatnonzero(np.isnan(house["w"]))[0] - 1] / 60
    assert days[date(2007, 2, 22)]["wh"] == pytest.approx(expected[date(2007, 2, 22)] - lost_minute, rel=1e-12)


def test_the_datasets_own_gap_is_reported_as_gap_seconds(house: dict[str, np.ndarray]) -> None:
    days = _daily(house, "locf")
    assert days[date(2007, 2, 22)]["gap_s"] == 180.0
    assert all(days[day]["gap_s"] == 0.0 for day in INNER_DAYS if day != date(2007, 2, 22))


def test_sub_meters_never_exceed_the_whole_house(house: dict[str, np.ndarray]) -> None:
    days = _daily(house, "trapezoid")
    sub = _by_day(house, house["sub_wh"])
    for day in INNER_DAYS:
        assert 0 < sub[day] <= days[day]["wh"]


def test_the_trapezoid_stays_within_one_percent_of_the_minute_sums(house: dict[str, np.ndarray]) -> None:
    locf, trapezoid = _daily(house, "locf"), _daily(house, "trapezoid")
    for day in INNER_DAYS:
        assert trapezoid[day]["wh"] == pytest.approx(locf[day]["wh"], rel=0.01)
