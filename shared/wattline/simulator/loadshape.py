"""Load shapes: true power of a household channel on a regular grid of simulated time.

Signed watts (negative = export). Pure numpy, deterministic for a given `numpy.random.Generator`.
"""

from __future__ import annotations

import gzip
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

UCI_FIXTURE = "uci-household-2007-02.csv.gz"
UCI_FIRST_DAY = date(2007, 2, 1)  # the fixture's first day; it holds four whole weeks


def local_hours(start: datetime, step_s: int, count: int, zone: ZoneInfo) -> FloatArray:
    """Local clock hour (0–24, fractional) at each grid point, honouring DST."""
    hours = np.empty(count, dtype=np.float64)
    # The UTC offset changes at most a few times in a simulation: compute it per hour, not per point.
    per_hour = 3600 // step_s
    for first in range(0, count, per_hour):
        instant = (start + timedelta(seconds=first * step_s)).astimezone(zone)
        base = instant.hour + instant.minute / 60 + instant.second / 3600
        last = min(first + per_hour, count)
        hours[first:last] = base + np.arange(last - first) * step_s / 3600
    return np.mod(hours, 24.0)


def household(rng: np.random.Generator, hours: FloatArray, step_s: int, *, scale: float = 1.0) -> FloatArray:
    """A synthetic household: base load, fridge cycles, morning and evening peaks, kettle and oven spikes."""
    count = hours.size
    seconds = np.arange(count, dtype=np.float64) * step_s
    base = rng.uniform(70, 140) + rng.normal(0, 4, count)

    period = rng.uniform(2400, 3300)
    duty = rng.uniform(0.3, 0.4)
    phase = rng.uniform(0, period)
    fridge = np.where(np.mod(seconds + phase, period) < duty * period, rng.uniform(90, 130), 0.0)

    evening = rng.uniform(350, 800) * np.exp(-0.5 * ((hours - rng.uniform(19.5, 20.5)) / 1.3) ** 2)
    morning = rng.uniform(150, 400) * np.exp(-0.5 * ((hours - rng.uniform(7.0, 7.8)) / 0.6) ** 2)
    wobble = np.clip(1 + 0.15 * np.sin(seconds / rng.uniform(500, 900)), 0.7, 1.3)

    power = base + fridge + (evening + morning) * wobble
    days = max(1, round(count * step_s / 86400))
    power += _bursts(rng, count, step_s, per_day=4 * days, watts=(1800, 2200), minutes=(2, 4), hours=hours)
    power += _bursts(rng, count, step_s, per_day=days, watts=(1500, 2400), minutes=(25, 50), hours=hours, around=18.5)
    return np.maximum(power, 0.0) * scale


def _bursts(
    rng: np.random.Generator,
    count: int,
    step_s: int,
    *,
    per_day: int,
    watts: tuple[float, float],
    minutes: tuple[float, float],
    hours: FloatArray,
    around: float | None = None,
) -> FloatArray:
    """Rectangular appliance runs (kettle, oven) at plausible times of day."""
    extra = np.zeros(count, dtype=np.float64)
    awake = np.flatnonzero((hours > 6.5) & (hours < 23.0))
    if around is not None:
        awake = np.flatnonzero(np.abs(hours - around) < 1.5)
    if awake.size == 0:
        return extra
    for start in rng.choice(awake, size=min(per_day, awake.size), replace=False):
        length = int(rng.uniform(*minutes) * 60 / step_s)
        extra[start : start + length] += rng.uniform(*watts)
    return extra


def solar(rng: np.random.Generator, hours: FloatArray, *, peak_w: float = 1500.0) -> FloatArray:
    """A PV inverter seen from its meter channel: export (negative) around midday, with passing clouds."""
    daylight = np.clip(np.sin(np.pi * (hours - 7.5) / 9.0), 0.0, None) ** 1.4
    clouds = np.clip(1 - 0.35 * np.abs(np.sin(np.cumsum(rng.normal(0, 0.02, hours.size)))), 0.4, 1.0)
    return -peak_w * daylight * clouds


@lru_cache(maxsize=1)
def uci_minutes() -> tuple[FloatArray, FloatArray]:
    """The packaged UCI fixture: (power W, voltage V) per minute over 28 local days from UCI_FIRST_DAY."""
    raw = resources.files("wattline.simulator").joinpath("data", UCI_FIXTURE).read_bytes()
    lines = [line for line in gzip.decompress(raw).decode().splitlines() if line and not line.startswith("#")]
    rows = np.array([[float(cell) for cell in line.split(",")[1:]] for line in lines[1:]], dtype=np.float64)
    return rows[:, 0], rows[:, 1]


def uci_driven(start: datetime, step_s: int, count: int) -> tuple[FloatArray, FloatArray]:
    """Power and voltage replayed from the real UCI house from the fixture day with the weekday of `start` (an
    aware local time), so a simulated week has the house's own weekdays and weekend; repeated after four weeks."""
    power, voltage = uci_minutes()
    first_minute = ((start.date() - UCI_FIRST_DAY).days % 28) * 1440 + start.hour * 60 + start.minute
    minutes = (first_minute + np.arange(count) * step_s // 60).astype(np.int64) % power.size
    return power[minutes].astype(np.float64), voltage[minutes].astype(np.float64)


def mains_voltage(rng: np.random.Generator, hours: FloatArray) -> FloatArray:
    """Mains voltage sagging a little in the evening peak."""
    sag = 5.0 * np.exp(-0.5 * ((hours - 20.0) / 2.0) ** 2)
    return 231.0 + rng.normal(0, 0.6, hours.size) - sag
