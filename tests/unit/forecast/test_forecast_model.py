"""wattline.forecast: the profile arithmetic on exact small cases, the baseline, intervals, errors."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from forecast_helpers import MONDAY, series

from wattline.forecast import (
    BASELINE,
    MODEL,
    Drivers,
    HistoryError,
    HourlyHistory,
    forecast,
    hour_of_week_profile,
    point_forecasts,
    recent_level,
)


def test_the_profile_is_the_mean_of_each_weekday_hour_over_the_window() -> None:
    # Given two weeks where weekend hours hold 2 kWh, weekday hours 1 kWh, and hour 7 of the second week 3 kWh
    history = series(14, lambda d, h: 3.0 if h == 7 and d >= 7 else 2.0 if d % 7 >= 5 else 1.0)

    # When the profile averages those 14 days
    profile = hour_of_week_profile(history, end=14)

    # Then each (weekday, hour) is the mean of its two values
    assert profile.shape == (7, 24)
    assert profile[0, 0] == 1.0 and profile[6, 0] == 2.0
    assert profile[0, 7] == 2.0  # (1 + 3) / 2
    assert profile[5, 7] == 2.5  # (2 + 3) / 2


def test_a_weekday_hour_without_data_takes_that_hour_s_mean_over_the_other_weekdays() -> None:
    # Given two weeks of 1 kWh an hour, except that Tuesday hour 5 is missing both weeks and Sunday holds 8 kWh
    rows = [
        (MONDAY + timedelta(days=d), h, 8.0 if d % 7 == 6 else 1.0)
        for d in range(14)
        for h in range(24)
        if not (d % 7 == 1 and h == 5)
    ]
    profile = hour_of_week_profile(HourlyHistory.from_rows(rows), end=14)

    # Then Tuesday hour 5 is the mean of hour 5 over the six other weekdays: (5 × 1 + 8) / 6
    assert profile[1, 5] == pytest.approx(13 / 6)


def test_the_level_scales_the_profile_to_the_last_14_days() -> None:
    # Given 28 days: 1 kWh an hour for two weeks, then 2 kWh an hour
    history = series(28, lambda d, h: 1.0 if d < 14 else 2.0)
    profile = hour_of_week_profile(history, end=28)

    # Then the profile is 1.5 an hour, the level 2 / 1.5, and the forecast of any day is 48 kWh exactly
    assert np.allclose(profile, 1.5)
    assert recent_level(history, 28, profile) == pytest.approx(4 / 3)
    assert np.allclose(point_forecasts(history, 27, 7, MODEL), 48.0)


def test_seasonal_naive_repeats_the_same_weekday_of_the_newest_known_week() -> None:
    # Given 21 days where every hour of day d holds d kWh (day total 24 d)
    history = series(21, lambda d, h: float(d))

    # When the baseline forecasts 10 days from the origin day 20
    points = point_forecasts(history, 20, 10, BASELINE)

    # Then day 21 + i repeats day 14 + i for i < 7, and day 28..30 repeat days 14..16 (two weeks back)
    assert list(points) == [24.0 * d for d in (14, 15, 16, 17, 18, 19, 20, 14, 15, 16)]


def test_a_day_missing_its_last_hour_is_not_the_newest_complete_day() -> None:
    # Given 15 full days and a 16th with data only until 12:00
    rows = [(MONDAY + timedelta(days=d), h, 1.0) for d in range(16) for h in range(24) if d < 15 or h <= 12]
    result = forecast(HourlyHistory.from_rows(rows), days=2)

    # Then the forecast starts on the 16th day itself
    assert [d.date for d in result.days] == [MONDAY + timedelta(days=15), MONDAY + timedelta(days=16)]
    assert result.last_complete_day == MONDAY + timedelta(days=14)


def test_a_short_history_is_refused_with_what_is_needed_and_what_there_is() -> None:
    with pytest.raises(HistoryError, match="need at least 14 days of history, have 3"):
        forecast(series(3, lambda d, h: 1.0))


def test_start_skips_days_and_must_come_after_the_newest_complete_day() -> None:
    # Given 21 full days
    history = series(21, lambda d, h: 1.0 + (d % 7))
    newest = MONDAY + timedelta(days=20)

    # When forecasting 3 days from 5 days after the first unknown day
    result = forecast(history, days=3, start=newest + timedelta(days=6))

    # Then exactly those days come back, and a start inside the history is refused
    assert [d.date for d in result.days] == [newest + timedelta(days=k) for k in (6, 7, 8)]
    with pytest.raises(HistoryError, match="not after the newest complete day"):
        forecast(history, start=newest)


def test_temperature_is_a_documented_hook_not_a_model_yet() -> None:
    drivers = Drivers(date(2026, 11, 2), np.zeros(30))
    with pytest.raises(NotImplementedError):
        forecast(series(21, lambda d, h: 1.0), drivers=drivers)


@pytest.mark.parametrize("seed", range(8))
def test_every_interval_contains_its_point_and_never_goes_below_zero(seed: int) -> None:
    # Given noisy series of random length with a weekly pattern (some with only in-sample errors)
    rng = np.random.default_rng(seed)
    days = int(rng.integers(14, 50))
    noise = rng.gamma(2.0, 0.5, size=(days, 24))
    history = series(days, lambda d, h: float(noise[d, h] * (1 + (d % 7 >= 5))))

    # When forecasting 10 days
    result = forecast(history, days=10)

    # Then lower <= point <= upper and lower >= 0 on every day
    assert len(result.days) == 10
    for day in result.days:
        assert 0.0 <= day.lower <= day.energy_kwh <= day.upper
