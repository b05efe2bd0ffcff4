"""Energy counters (Wh, cumulative): cleaning, resets, plausibility. Vectorized."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wattline.energy.core import F64, BoolArray

RESET = "reset"
GLITCH = "glitch"
JUMP = "jump"


@dataclass(frozen=True, slots=True)
class CounterSeries:
    """A cleaned counter series and what each interval between consecutive readings contributes.

    - `energy_wh[j]`: energy of interval j (readings j and j+1): the increase, or after a reset the new value.
    - `valid[j]`: the interval contributes (False when the implied mean power exceeds the plausibility limit).
    - `events`: (index of the reading that ends the interval, kind, before_wh, after_wh, counted_wh) for every
      decrease (`reset`), implausible increase (`jump`) and dropped one-reading dip (`glitch`).
    """

    ts: F64
    value_wh: F64
    energy_wh: F64
    valid: BoolArray
    event_ts: F64
    event_kind: list[str]
    event_before: F64
    event_after: F64
    event_counted: F64

    @property
    def duration_s(self) -> F64:
        return np.diff(self.ts)


def build_counter(ts: F64, value_wh: F64, *, max_power_w: float) -> CounterSeries:
    """Clean one counter series: `ts` strictly increasing; `value_wh` NaN or negative (-1 = "not available") are
    ignored.

    A single reading that dips below its predecessor while the next reading is back at or above the predecessor is
    a glitch (the "0 then the right value" quirk): it is dropped, not taken as a reset. Any other decrease is a
    reset: the interval contributes the new value (counted since restarting from zero) unless that exceeds
    max_power_w over the interval, in which case it contributes nothing. An increase above that limit is a jump and
    contributes nothing either.
    """
    keep = np.isfinite(value_wh) & (value_wh >= 0)
    ts, value_wh = ts[keep], value_wh[keep]

    glitch = np.zeros(len(ts), dtype=bool)
    if len(ts) >= 3:
        prev, cur, nxt = value_wh[:-2], value_wh[1:-1], value_wh[2:]
        glitch[1:-1] = (cur < prev) & (nxt >= prev)
    glitch_ts, glitch_before = ts[glitch], value_wh[np.flatnonzero(glitch) - 1]
    glitch_after = value_wh[glitch]
    ts, value_wh = ts[~glitch], value_wh[~glitch]

    increase = np.diff(value_wh)
    dur = np.diff(ts)
    reset = increase < 0
    energy = np.where(reset, value_wh[1:], increase)
    limit = max_power_w * dur / 3600.0
    valid = energy <= limit
    energy = np.where(valid, energy, 0.0)
    jump = ~reset & ~valid

    reset_idx = np.flatnonzero(reset) + 1
    jump_idx = np.flatnonzero(jump) + 1
    kinds = [GLITCH] * len(glitch_ts) + [RESET] * len(reset_idx) + [JUMP] * len(jump_idx)
    event_ts = np.concatenate((glitch_ts, ts[reset_idx], ts[jump_idx]))
    before = np.concatenate((glitch_before, value_wh[reset_idx - 1], value_wh[jump_idx - 1]))
    after = np.concatenate((glitch_after, value_wh[reset_idx], value_wh[jump_idx]))
    counted = np.concatenate((np.zeros(len(glitch_ts)), energy[reset_idx - 1], np.zeros(len(jump_idx))))
    order = np.argsort(event_ts, kind="stable")
    return CounterSeries(
        ts=ts,
        value_wh=value_wh,
        energy_wh=energy,
        valid=valid,
        event_ts=event_ts[order],
        event_kind=[kinds[i] for i in order],
        event_before=before[order],
        event_after=after[order],
        event_counted=counted[order],
    )
