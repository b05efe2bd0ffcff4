"""The exact energy engine: irregular power samples and counters in, energy per local hour out.

The single source of truth for energy; the loader, `wattline analyze` and the alerts all call it.
Rules, choices and the gap rule are documented in docs/energy.md.

Public API (stable; other stages code against it):
- compute_hourly(readings, *, tz, method="auto", max_gap_s=300.0, max_power_w=25_000.0, window=None) -> EnergyResult
      readings: any iterable of wattline.models.Reading (device-level readings with channel None are ignored).
      tz: a tzinfo or an IANA name. method: auto | counter | trapezoid | locf (wattline.settings.IntegrationMethod).
      window: optional (start, end): keep only hours starting in [start, end), clip gaps and resets to it.
- compute_hourly_arrays(device_id, channel, ts_s, power_w, energy_total_wh, energy_returned_wh, *, generation, tz,
      method, max_gap_s, max_power_w, received_ms=None, window=None) -> EnergyResult
      the columnar fast path for one channel (NaN = the reading did not carry the quantity).
- integrate_power(ts_s, power_w, hour_edges_s, *, method="trapezoid", max_gap_s=300.0) -> HourlyArrays
      the array core (sorted, strictly increasing Unix seconds); local_hour_edges(start_s, end_s, tz) gives edges.
- EnergyResult: .hourly (list[HourlyEnergy], sorted by device, channel, hour_start),
                .gaps (list[Gap]), .resets (list[CounterReset])
- Gap(device_id, channel, start, end, seconds)
- CounterReset(device_id, channel, ts, before_wh, after_wh, counted_wh, kind="reset"|"jump"|"glitch", counter)
      HourlyEnergy.counter_resets counts kind == "reset" only.

Hourly rows are emitted for every local hour from the one holding the first observation to the one holding the
last (hours with no coverage appear as gap rows), so a day's gap seconds are the sum of its rows' gap_s.
"""

from wattline.energy.core import HourlyArrays, integrate_power, signed_areas
from wattline.energy.engine import (
    DEFAULT_MAX_GAP_S,
    DEFAULT_MAX_POWER_W,
    METHODS,
    CounterReset,
    EnergyResult,
    Gap,
    compute_hourly,
    compute_hourly_arrays,
    resolve_power_method,
)
from wattline.energy.hours import local_hour_edges

__all__ = [
    "DEFAULT_MAX_GAP_S",
    "DEFAULT_MAX_POWER_W",
    "METHODS",
    "CounterReset",
    "EnergyResult",
    "Gap",
    "HourlyArrays",
    "compute_hourly",
    "compute_hourly_arrays",
    "integrate_power",
    "local_hour_edges",
    "resolve_power_method",
    "signed_areas",
]
