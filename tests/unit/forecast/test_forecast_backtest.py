"""The rolling-origin backtest: on a synthetic week with a level shift the model beats seasonal naive; where weeks
drift like a random walk the baseline wins and is used; the UCI house gives finite figures (docs/forecast.md)."""

from __future__ import annotations

import math

import numpy as np
from forecast_helpers import series, uci

from wattline.forecast import BASELINE, MODEL, HourlyHistory, backtest, forecast, forecast_document

WEEKLY = np.array([1.0, 1.0, 1.1, 1.0, 1.2, 1.8, 2.0])  # Monday .. Sunday
HOURLY = np.array([0.5] * 7 + [1.5] * 2 + [0.8] * 8 + [2.0] * 5 + [0.7] * 2)  # night, morning, day, evening


def shifted_week(seed: int) -> HourlyHistory:
    """56 days of the known weekly x daily pattern, 15 % day-to-day and 15 % hourly noise, level +40 % from day 35."""
    rng = np.random.default_rng(seed)
    hourly = rng.normal(1.0, 0.15, size=(56, 24)).clip(0.2)
    daily = rng.normal(1.0, 0.15, size=56).clip(0.3)
    return series(
        56, lambda d, h: float(WEEKLY[d % 7] * HOURLY[h] * hourly[d, h] * daily[d] * (1.4 if d >= 35 else 1.0))
    )


def test_the_model_beats_seasonal_naive_on_a_noisy_weekly_pattern_with_a_level_shift() -> None:
    # Given five noisy series with a known weekly pattern and a 40 % level shift three weeks before the end
    results = [backtest(shifted_week(seed)) for seed in range(5)]

    # Then each is scored on the same 4 x 7 origins (the last six see fewer than 7 days ahead) for both methods
    assert all(r.origins == 28 and r.pairs == 7 * 28 - 21 for r in results)
    # And the model's MAE, pooled over the five, is clearly below the baseline's (it averages the noise away)
    model = sum(r.model.mae_kwh or 0.0 for r in results)
    baseline = sum(r.baseline.mae_kwh or 0.0 for r in results)
    assert model < 0.95 * baseline
    assert forecast(shifted_week(0)).model_used == MODEL


def test_seasonal_naive_is_used_when_each_week_drifts_from_the_last() -> None:
    # Given weekday totals that random-walk from week to week (last week is the best guess), no hourly noise
    rng = np.random.default_rng(5)
    weeks = np.cumsum(rng.normal(0.0, 0.6, size=(8, 7)), axis=0) + 5.0
    history = series(56, lambda d, h: float(max(weeks[d // 7, d % 7], 0.1) * HOURLY[h]))

    # Then the backtest prefers the baseline, and the forecast says it used it
    result = backtest(history)
    assert result.winner == BASELINE
    made = forecast(history)
    assert made.model_used == BASELINE
    assert forecast_document({("m", 0): history})["model_used"] == BASELINE


def test_the_uci_house_backtest_gives_finite_figures_for_both_methods() -> None:
    # Given the real house's 28 days of hourly energy (1-28 February 2007)
    result = backtest(uci())

    # Then every day of the last two weeks that has 14 days behind it is an origin, and both MAEs are sane kWh
    assert result.origins == 14 and result.pairs == 77
    for score in (result.model, result.baseline):
        assert score.mae_kwh is not None and score.mape is not None
        assert 0.0 < score.mae_kwh < 100.0 and math.isfinite(score.mape)
    print("UCI backtest:", result.as_dict())  # the figures docs/forecast.md quotes
