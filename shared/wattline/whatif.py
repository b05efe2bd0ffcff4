"""Tariff what-if: the same measured hourly energy priced under several tariffs, side by side (`wattline whatif`).

Per local day the rules are those of `wattline.daily` (zone of each hour's local start, zone energy = import +
estimated, price valid on that local date, kWh rounded to 6 decimals and cost to 4). Over the period, a row's
energy, zones and cost are the sums of its daily rounded values (as `monthly_energy` sums days), rounded again;
saving = the current tariff's period cost − this row's cost (None when the currencies differ).

Load shift ("KWH from ZONE to ZONE"): each local day of each device/channel, min(KWH, that day's energy in the
source zone) moves to the target zone before pricing. A tariff without both zones gets no shifted row; it is named
in the notes instead. The warehouse view `tariff_comparison` gives the unshifted daily rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from wattline.daily import COST_DECIMALS, KWH_DECIMALS, day_cost, local_days, zone_energy_wh
from wattline.errors import PermanentError
from wattline.models import HourlyEnergy
from wattline.tariffs import Tariff

SHIFT_FORM = '"KWH_PER_DAY from ZONE to ZONE", e.g. "3 from day to night"'
SHIFT_SUFFIX = "+shift"
_SHIFT = re.compile(r"^\s*(?P<kwh>\d+(?:\.\d+)?)\s+from\s+(?P<source>[\w-]+)\s+to\s+(?P<target>[\w-]+)\s*$")


@dataclass(frozen=True)
class Shift:
    """Move up to `kwh_per_day` of each local day's energy from zone `source` to zone `target`."""

    kwh_per_day: float
    source: str
    target: str

    def applies_to(self, tariff: Tariff) -> bool:
        return self.source in tariff.zone_names and self.target in tariff.zone_names


def parse_shift(text: str) -> Shift:
    """`"3 from day to night"` → Shift(3.0, "day", "night"); anything else is a PermanentError naming the form."""
    match = _SHIFT.match(text)
    if match is None:
        raise PermanentError(f"cannot read shift {text!r}: expected {SHIFT_FORM}")
    shift = Shift(float(match["kwh"]), match["source"], match["target"])
    if shift.kwh_per_day <= 0:
        raise PermanentError(f"shift {text!r}: KWH_PER_DAY must be more than 0 (expected {SHIFT_FORM})")
    if shift.source == shift.target:
        raise PermanentError(f"shift {text!r}: the source and target zones are the same (expected {SHIFT_FORM})")
    return shift


@dataclass(frozen=True)
class DayPrice:
    """One device/channel/local date priced with one tariff (unshifted or shifted)."""

    device_id: str
    channel: int
    date: date
    tariff: str
    energy_kwh: float
    zones: dict[str, float]
    cost: float
    currency: str


def price_days(
    hourly: Sequence[HourlyEnergy], tariff: Tariff, *, timezone: str, shift: Shift | None = None
) -> list[DayPrice]:
    """Every device/channel/local date of `hourly` priced with `tariff`; with `shift`, the energy is moved first
    (the tariff must have both zones) and the rows are named `<tariff>+shift`."""
    if shift is not None and not shift.applies_to(tariff):
        raise PermanentError(f"tariff {tariff.name!r} lacks zone {shift.source!r} or {shift.target!r}")
    name = tariff.name + (SHIFT_SUFFIX if shift else "")
    days = []
    for (device_id, channel, day), rows in sorted(local_days(hourly, tariff=tariff, timezone=timezone).items()):
        zone_wh = zone_energy_wh(rows, tariff)
        if shift is not None:
            moved = min(shift.kwh_per_day * 1000, zone_wh[shift.source])
            zone_wh[shift.source] -= moved
            zone_wh[shift.target] += moved
        days.append(
            DayPrice(
                device_id=device_id,
                channel=channel,
                date=day,
                tariff=name,
                energy_kwh=round(sum(row.import_wh + row.estimated_wh for row, _ in rows) / 1000, KWH_DECIMALS),
                zones={zone: round(wh / 1000, KWH_DECIMALS) for zone, wh in zone_wh.items()},
                cost=round(day_cost(zone_wh, tariff, day), COST_DECIMALS),
                currency=tariff.currency,
            )
        )
    return days


def compare_days(
    hourly: Iterable[HourlyEnergy], tariffs: Sequence[Tariff], *, current: Tariff, timezone: str
) -> list[dict[str, Any]]:
    """The daily rows the warehouse view `tariff_comparison` holds: per device, channel, local date and tariff,
    with saving = the current tariff's cost that day − this tariff's (None when the currencies differ)."""
    hourly = list(hourly)
    base = {(d.device_id, d.channel, d.date): d for d in price_days(hourly, current, timezone=timezone)}
    rows = []
    for tariff in tariffs:
        for day in price_days(hourly, tariff, timezone=timezone):
            ref = base[(day.device_id, day.channel, day.date)]
            saving = round(ref.cost - day.cost, COST_DECIMALS) if ref.currency == day.currency else None
            rows.append({**asdict(day), "current_tariff": current.name, "current_cost": ref.cost, "saving": saving})
    return sorted(rows, key=lambda r: (r["device_id"], r["channel"], r["date"], r["tariff"]))


@dataclass
class Comparison:
    """The rows `wattline whatif` prints and the notes about tariffs a shift could not apply to."""

    rows: list[dict[str, Any]]
    notes: list[str]


def compare_tariffs(
    hourly: Iterable[HourlyEnergy],
    tariffs: Sequence[Tariff],
    *,
    current: Tariff,
    timezone: str,
    shift: Shift | None = None,
) -> Comparison:
    """One row per device, channel and tariff over the whole period: `tariffs` (plus `current` when it is not
    among them), then, with a shift, `<tariff>+shift` for each tariff that has both zones. Sorted by device,
    channel, then the tariffs' order."""
    hourly = list(hourly)
    chosen = list({t.name: t for t in [*tariffs, current]}.values())
    notes: list[str] = []
    priced: list[list[DayPrice]] = [price_days(hourly, tariff, timezone=timezone) for tariff in chosen]
    if shift is not None:
        for tariff in chosen:
            if shift.applies_to(tariff):
                priced.append(price_days(hourly, tariff, timezone=timezone, shift=shift))
            else:
                missing = [z for z in (shift.source, shift.target) if z not in tariff.zone_names]
                notes.append(
                    f"{tariff.name}: no shifted row (the tariff has no zone {' or '.join(map(repr, missing))}; "
                    f"its zones: {', '.join(tariff.zone_names)})"
                )
        if not any(shift.applies_to(t) for t in chosen):
            raise PermanentError(
                f"no compared tariff has both zones {shift.source!r} and {shift.target!r}: "
                + "; ".join(f"{t.name}: {', '.join(t.zone_names)}" for t in chosen)
            )
    totals = [_period(days) for days in priced]
    current_index = [t.name for t in chosen].index(current.name)
    current_cost = {_key(row): (row["cost"], row["currency"]) for row in totals[current_index]}
    order = {days[0].tariff: index for index, days in enumerate(priced) if days}
    rows = []
    for total in totals:
        for row in total:
            base_cost, base_currency = current_cost[_key(row)]
            row["saving"] = round(base_cost - row["cost"], COST_DECIMALS) if base_currency == row["currency"] else None
            rows.append(row)
    rows.sort(key=lambda r: (r["device_id"], r["channel"], order[r["tariff"]]))
    return Comparison(rows, notes)


def _key(row: dict[str, Any]) -> tuple[str, int]:
    return (row["device_id"], row["channel"])


def _period(days: list[DayPrice]) -> list[dict[str, Any]]:
    """Sum one tariff's daily rows per device and channel (sums of rounded daily values, rounded again)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for day in days:
        row = out.setdefault(
            (day.device_id, day.channel),
            {
                "device_id": day.device_id,
                "channel": day.channel,
                "tariff": day.tariff,
                "energy_kwh": 0.0,
                "zones": dict.fromkeys(day.zones, 0.0),
                "cost": 0.0,
                "currency": day.currency,
            },
        )
        row["energy_kwh"] += day.energy_kwh
        for zone, kwh in day.zones.items():
            row["zones"][zone] += kwh
        row["cost"] += day.cost
    for row in out.values():
        row["energy_kwh"] = round(row["energy_kwh"], KWH_DECIMALS)
        row["zones"] = {zone: round(kwh, KWH_DECIMALS) for zone, kwh in row["zones"].items()}
        row["cost"] = round(row["cost"], COST_DECIMALS)
    return list(out.values())
