"""Daily consumption forecasts from hourly energy: pure numpy, no I/O (docs/forecast.md).

One series = one device and channel: its energy per local date and local hour (0..23; the fall-back night's two
03:00 hours summed, the spring-forward day's missing hour simply absent). `HourlyHistory.from_rows` builds it.

Model `hour_of_week_profile`: the mean energy of each (ISO weekday, local hour) over the last PROFILE_DAYS days
before the origin, scaled by the recent level — the energy of the last LEVEL_DAYS days divided by what the profile
gives for the same hours (hours without data count on neither side). A day's forecast is the level times the sum
of the profile over that weekday's 24 hours. Baseline `seasonal_naive`: the same weekday one week earlier (two
weeks for horizons of 8–14 days, …), always a known day.

Intervals (80 %): the 10th and 90th percentiles of the method's own past daily errors (actual − forecast, kWh) from
rolling origins over the history, pooled over horizons 1..7; when fewer than MIN_ERRORS such errors exist, the
in-sample errors of the newest origin stand in. The interval always contains the point and never goes below 0.

Temperature hook: `Drivers` (below) is where daily exogenous inputs (e.g. heating degree-days) will enter; no
model uses it yet and passing one raises NotImplementedError.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

Method = Literal["hour_of_week_profile", "seasonal_naive"]
MODEL: Method = "hour_of_week_profile"
BASELINE: Method = "seasonal_naive"

MIN_HISTORY_DAYS = 14  # complete local days a forecast needs (two of every weekday)
PROFILE_DAYS = 28  # days the hour-of-week profile averages over (fewer when the history is shorter)
LEVEL_DAYS = 14  # days the recent level is measured over
BACKTEST_WEEKS = 4  # rolling origins: every day of the last K weeks
BACKTEST_HORIZON = 7  # days ahead from each origin
INTERVAL = (0.10, 0.90)  # quantiles of the past errors: an 80 % interval
MIN_ERRORS = 7  # rolling-origin errors an interval needs before the in-sample fallback is used
FULL_DAY_HOURS = 23  # a day with at least this many local hours of data is scored (23: spring-forward days)


class HistoryError(ValueError):
    """The history is too short (or empty) to forecast: the message says what is needed and what there is."""


@dataclass(frozen=True)
class Drivers:
    """Daily exogenous inputs (hook for temperature; not used by any model yet)."""

    first: date
    heating_degree_days: FloatArray


@dataclass(frozen=True)
class HourlyHistory:
    """One series on a calendar grid: `kwh[d, h]` = energy of local date `first + d`, local hour h; NaN = no data."""

    first: date
    kwh: FloatArray

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[date, int, float]]) -> HourlyHistory:
        """(local date, local hour 0..23, kWh) rows; repeated (date, hour) pairs are summed."""
        items = list(rows)
        if not items:
            raise HistoryError(f"need at least {MIN_HISTORY_DAYS} days of history, have 0")
        first = min(d for d, _, _ in items)
        last = max(d for d, _, _ in items)
        grid = np.full(((last - first).days + 1, 24), np.nan)
        for day, hour, kwh in items:
            if not 0 <= hour <= 23:
                raise ValueError(f"local hour {hour} is not in 0..23")
            i = (day - first).days
            grid[i, hour] = kwh if np.isnan(grid[i, hour]) else grid[i, hour] + kwh
        return cls(first, grid)

    @property
    def days(self) -> int:
        return int(self.kwh.shape[0])

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)

    def weekdays(self) -> npt.NDArray[np.int64]:
        """ISO weekday − 1 (0 = Monday) of every row."""
        start = self.first.weekday()
        return np.asarray((np.arange(self.days) + start) % 7, dtype=np.int64)

    def daily(self) -> FloatArray:
        """Energy per day (NaN for a day without any data)."""
        present = ~np.isnan(self.kwh)
        totals = np.where(present, self.kwh, 0.0).sum(axis=1)
        return np.where(present.any(axis=1), totals, np.nan)

    def full(self) -> npt.NDArray[np.bool_]:
        """Days with at least FULL_DAY_HOURS hours of data: the only ones scored and used as seasonal-naive values."""
        return np.asarray((~np.isnan(self.kwh)).sum(axis=1) >= FULL_DAY_HOURS)

    def last_complete(self) -> int:
        """Index of the newest complete day: the last day when its hour 23 has data, else the day before it."""
        return self.days - 1 if not np.isnan(self.kwh[-1, 23]) else self.days - 2


def series_histories(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], HourlyHistory]:
    """Rows of the `forecast_hourly` query (device_id, channel, local_date, local_hour, energy_kwh) as one
    HourlyHistory per (device_id, channel)."""
    grouped: dict[tuple[str, int], list[tuple[date, int, float]]] = defaultdict(list)
    for row in rows:
        day = row["local_date"]
        local = day if isinstance(day, date) else date.fromisoformat(str(day))
        grouped[(str(row["device_id"]), int(row["channel"]))].append(
            (local, int(row["local_hour"]), float(row["energy_kwh"] or 0.0))
        )
    return {key: HourlyHistory.from_rows(items) for key, items in grouped.items()}


@dataclass(frozen=True)
class Score:
    name: str
    mae_kwh: float | None
    mape: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mae_kwh": self.mae_kwh, "mape": self.mape}


@dataclass(frozen=True)
class Backtest:
    """Scores of the model and the baseline on the same (origin, target day) pairs."""

    model: Score
    baseline: Score
    origins: int
    pairs: int

    @property
    def winner(self) -> Method:
        """The model unless the baseline has a strictly lower MAE (no pairs: the model)."""
        if self.model.mae_kwh is None or self.baseline.mae_kwh is None:
            return MODEL
        return BASELINE if self.baseline.mae_kwh < self.model.mae_kwh else MODEL

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.as_dict(),
            "baseline": self.baseline.as_dict(),
            "origins": self.origins,
            "pairs": self.pairs,
        }


@dataclass(frozen=True)
class DayForecast:
    date: date
    energy_kwh: float
    lower: float
    upper: float

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "energy_kwh": self.energy_kwh, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class Forecast:
    model_used: Method
    days: list[DayForecast]
    backtest: Backtest
    interval_source: Literal["rolling_origin", "in_sample"]
    history_days: int
    last_complete_day: date = field(default=date.min)


# -- the profile arithmetic ---------------------------------------------------------------------------------------


def hour_of_week_profile(history: HourlyHistory, end: int, days: int = PROFILE_DAYS) -> FloatArray:
    """(7, 24) mean kWh of each (weekday, hour) over days [end − days, end); gaps: hour mean, then overall mean."""
    lo = max(0, end - days)
    window, weekdays = history.kwh[lo:end], history.weekdays()[lo:end]
    profile = np.full((7, 24), np.nan)
    for w in range(7):
        rows = window[weekdays == w]
        present = ~np.isnan(rows)
        counts = present.sum(axis=0)
        sums = np.where(present, rows, 0.0).sum(axis=0)
        profile[w] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if np.isnan(profile).all():
        raise HistoryError("no hour of data before the origin")
    hour_means = _column_means(profile)
    profile = np.where(np.isnan(profile), hour_means[np.newaxis, :], profile)
    return np.where(np.isnan(profile), float(np.nanmean(profile)), profile)


def _column_means(profile: FloatArray) -> FloatArray:
    present = ~np.isnan(profile)
    counts = present.sum(axis=0)
    sums = np.where(present, profile, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def recent_level(history: HourlyHistory, end: int, profile: FloatArray, days: int = LEVEL_DAYS) -> float:
    """Σ actual / Σ profile over the hours with data in days [end − days, end); 1.0 when the profile sums to 0."""
    lo = max(0, end - days)
    window = history.kwh[lo:end]
    expected = profile[history.weekdays()[lo:end]]
    present = ~np.isnan(window)
    denominator = float(expected[present].sum())
    if denominator <= 0.0:
        return 1.0
    return float(window[present].sum()) / denominator


def point_forecasts(history: HourlyHistory, origin: int, horizon: int, method: Method) -> FloatArray:
    """Daily kWh for days origin+1 .. origin+horizon, knowing days 0..origin (indices into the history's grid)."""
    targets = np.arange(origin + 1, origin + horizon + 1)
    weekdays = (targets + history.first.weekday()) % 7
    if method == MODEL:
        profile = hour_of_week_profile(history, origin + 1)
        level = recent_level(history, origin + 1, profile)
        return np.asarray(level * profile.sum(axis=1)[weekdays], dtype=np.float64)
    daily, full = history.daily(), history.full()
    out = np.empty(horizon)
    for i, target in enumerate(targets):
        source = target - 7 * ((target - origin + 6) // 7)  # the same weekday on or before the origin
        while source >= 0 and not full[source]:
            source -= 7
        if source < 0:
            raise HistoryError(f"no complete {history.day(int(target)):%A} before the origin")
        out[i] = daily[source]
    return out


# -- rolling origins ----------------------------------------------------------------------------------------------


def rolling_errors(
    history: HourlyHistory, method: Method, origins: Sequence[int], horizon: int = BACKTEST_HORIZON
) -> list[tuple[int, int, float, float]]:
    """(origin, target, actual, forecast) for every origin and every complete target day within the history."""
    daily, full = history.daily(), history.full()
    last = history.last_complete()
    found: list[tuple[int, int, float, float]] = []
    for origin in origins:
        steps = min(horizon, last - origin)
        if steps <= 0:
            continue
        predicted = point_forecasts(history, origin, steps, method)
        for step in range(steps):
            target = origin + 1 + step
            if full[target]:
                found.append((origin, target, float(daily[target]), float(predicted[step])))
    return found


def backtest_origins(history: HourlyHistory, weeks: int = BACKTEST_WEEKS) -> list[int]:
    """Every day of the last `weeks` weeks before the newest complete day that has MIN_HISTORY_DAYS days behind it."""
    last = history.last_complete()
    first = max(MIN_HISTORY_DAYS - 1, last - 7 * weeks)
    return list(range(first, last))


def _score(name: str, pairs: list[tuple[int, int, float, float]]) -> Score:
    if not pairs:
        return Score(name, None, None)
    actual = np.array([p[2] for p in pairs])
    predicted = np.array([p[3] for p in pairs])
    errors = np.abs(actual - predicted)
    positive = actual > 0
    mape = float(100.0 * np.mean(errors[positive] / actual[positive])) if positive.any() else None
    return Score(name, round(float(errors.mean()), 4), None if mape is None else round(mape, 2))


def backtest(history: HourlyHistory, *, weeks: int = BACKTEST_WEEKS, horizon: int = BACKTEST_HORIZON) -> Backtest:
    """Rolling-origin backtest: origins every day of the last `weeks` weeks (each with ≥ MIN_HISTORY_DAYS days of
    history), forecasts 1..`horizon` days ahead, scored on the complete days that are known; MAE in kWh, MAPE in %
    over days with energy. The model and the baseline are scored on exactly the same pairs."""
    _require(history)
    origins = backtest_origins(history, weeks)
    model = rolling_errors(history, MODEL, origins, horizon)
    baseline = rolling_errors(history, BASELINE, origins, horizon)
    return Backtest(_score(MODEL, model), _score(BASELINE, baseline), len(origins), len(model))


# -- the forecast -------------------------------------------------------------------------------------------------


def forecast(
    history: HourlyHistory,
    *,
    days: int = 7,
    start: date | None = None,
    drivers: Drivers | None = None,
) -> Forecast:
    """Daily forecasts for `days` local days from `start` (default: the day after the newest complete day).

    The method is the one the backtest prefers (the model unless the baseline beats it). `start` must be after
    the newest complete day; days between it and `start` are forecast too but not returned.
    """
    if drivers is not None:
        raise NotImplementedError("exogenous drivers (temperature) are not modelled yet")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    _require(history)
    origin = history.last_complete()
    first_day = history.day(origin + 1)
    if start is not None and start < first_day:
        raise HistoryError(f"--start {start} is not after the newest complete day {history.day(origin)}")
    skip = 0 if start is None else (start - first_day).days
    scores = backtest(history)
    method = scores.winner
    points = point_forecasts(history, origin, skip + days, method)[skip:]
    low, high, source = _error_band(history, method)
    result = [
        DayForecast(
            first_day + timedelta(days=skip + i),
            round(float(p), 3),
            round(max(0.0, float(p) + low), 3),
            round(float(p) + high, 3),
        )
        for i, p in enumerate(points)
    ]
    return Forecast(method, result, scores, source, int(history.full()[: origin + 1].sum()), history.day(origin))


def _error_band(history: HourlyHistory, method: Method) -> tuple[float, float, Literal["rolling_origin", "in_sample"]]:
    """(q10, q90) of past errors, clamped so that q10 ≤ 0 ≤ q90."""
    last = history.last_complete()
    origins = list(range(MIN_HISTORY_DAYS - 1, last))
    errors = [a - f for _, _, a, f in rolling_errors(history, method, origins)]
    source: Literal["rolling_origin", "in_sample"] = "rolling_origin"
    if len(errors) < MIN_ERRORS:
        errors = _in_sample_errors(history, method)
        source = "in_sample"
    if not errors:
        return 0.0, 0.0, source
    low, high = np.quantile(np.array(errors), INTERVAL)
    return min(0.0, float(low)), max(0.0, float(high)), source


def _in_sample_errors(history: HourlyHistory, method: Method) -> list[float]:
    """Errors of the newest origin's fit on the days it learnt from (model) or of week-on-week changes (baseline)."""
    last = history.last_complete()
    daily, full = history.daily(), history.full()
    weekdays = history.weekdays()
    errors: list[float] = []
    if method == MODEL:
        profile = hour_of_week_profile(history, last + 1)
        level = recent_level(history, last + 1, profile)
        fitted = level * profile.sum(axis=1)[weekdays]
        lo = max(0, last + 1 - PROFILE_DAYS)
        errors = [float(daily[d] - fitted[d]) for d in range(lo, last + 1) if full[d]]
    else:
        errors = [float(daily[d] - daily[d - 7]) for d in range(7, last + 1) if full[d] and full[d - 7]]
    return errors


def _require(history: HourlyHistory) -> None:
    have = int(history.full()[: history.last_complete() + 1].sum())
    if have < MIN_HISTORY_DAYS:
        raise HistoryError(f"need at least {MIN_HISTORY_DAYS} days of history, have {have}")


# -- the document `wattline forecast` prints ---------------------------------------------------------------------


def protocol() -> dict[str, Any]:
    """The backtest and interval settings, as the JSON document states them."""
    return {
        "origins": f"every day of the last {BACKTEST_WEEKS} weeks",
        "horizon_days": BACKTEST_HORIZON,
        "min_history_days": MIN_HISTORY_DAYS,
        "profile_days": PROFILE_DAYS,
        "level_days": LEVEL_DAYS,
        "interval": list(INTERVAL),
    }


def forecast_document(
    histories: dict[tuple[str, int], HourlyHistory],
    *,
    days: int = 7,
    start: date | None = None,
    backtest_only: bool = False,
) -> dict[str, Any]:
    """`{"model_used", "forecasts", "backtest", "skipped", "protocol"}` for every series (docs/forecast.md).

    A series whose history is too short is listed in `skipped` with the reason; when every series is, the first
    reason is raised (HistoryError). `forecasts` is absent with `backtest_only`.
    """
    forecasts: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for (device_id, channel), history in sorted(histories.items()):
        key = {"device_id": device_id, "channel": channel}
        try:
            if backtest_only:
                result = backtest(history)
                used, source = result.winner, None
            else:
                made = forecast(history, days=days, start=start)
                result, used, source = made.backtest, made.model_used, made.interval_source
                forecasts += [{**key, **day.as_dict(), "model": used} for day in made.days]
        except HistoryError as exc:
            skipped.append({**key, "reason": str(exc)})
            continue
        last = history.day(history.last_complete()).isoformat()
        entry = {**key, **result.as_dict(), "model_used": used, "last_complete_day": last}
        if source is not None:
            entry["interval_source"] = source
        scores.append(entry)
    if not scores:
        reasons = "; ".join(f"{s['device_id']} channel {s['channel']}: {s['reason']}" for s in skipped)
        raise HistoryError(reasons or f"no energy_hourly rows: need at least {MIN_HISTORY_DAYS} days of history")
    used_names = {s["model_used"] for s in scores}
    document: dict[str, Any] = {"model_used": used_names.pop() if len(used_names) == 1 else "mixed"}
    if not backtest_only:
        document["forecasts"] = forecasts
    document.update({"backtest": scores, "skipped": skipped, "protocol": protocol()})
    return document
