"""Local-day rollup of hourly energy, priced with a tariff: the rows `wattline analyze` and `wattline energy` print.

Rules shared with the warehouse view `daily_energy` (so both agree exactly):
- an hourly row belongs to the local date and zone of its hour_start in the site time zone;
- zone energy is import_wh + estimated_wh; every zone of the tariff is listed, 0.0 when it has no energy;
- cost = Σ zone kWh × the zone's price on that local date;
- coverage = Σ covered_s / seconds in that local day (82,800, 86,400 or 90,000 with DST);
- method is the single method of the day's hours, or their sorted names joined by '+';
- kWh are rounded to 6 decimals and cost to 4, once, at the end;
- export_value (grid channels only, wattline.solar.export_value) = export kWh as rounded × the tariff's export price
  on that local date, when the day exported and the tariff prices export then (else absent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from wattline.models import DailyEnergy, HourlyEnergy
from wattline.solar import ChannelRole, ChannelRoles, export_value
from wattline.tariffs import Tariff

KWH_DECIMALS = 6
COST_DECIMALS = 4


def local_day_seconds(day: date, zone: ZoneInfo) -> float:
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall-clock times, ignoring DST.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


DayKey = tuple[str, int, date]


def local_days(
    hourly: Iterable[HourlyEnergy], *, tariff: Tariff, timezone: str
) -> dict[DayKey, list[tuple[HourlyEnergy, str]]]:
    """Hourly rows by (device, channel, local date), each with the tariff zone of its local hour start."""
    zone = ZoneInfo(timezone)
    groups: dict[DayKey, list[tuple[HourlyEnergy, str]]] = defaultdict(list)
    for row in hourly:
        local = row.hour_start.astimezone(zone)
        groups[(row.device_id, row.channel, local.date())].append((row, tariff.zone_at(local)))
    return groups


def zone_energy_wh(rows: Iterable[tuple[HourlyEnergy, str]], tariff: Tariff) -> dict[str, float]:
    """Energy (import + estimated, Wh, unrounded) per zone of the tariff, every zone listed, in the tariff's order."""
    zone_wh = dict.fromkeys(tariff.zone_names, 0.0)
    for row, zone_name in rows:
        zone_wh[zone_name] += row.import_wh + row.estimated_wh
    return zone_wh


def day_cost(zone_wh: dict[str, float], tariff: Tariff, day: date) -> float:
    """Σ zone kWh × the zone's price on that local date (unrounded)."""
    return sum(wh / 1000 * tariff.price(name, day) for name, wh in zone_wh.items())


def daily_energy(
    hourly: Iterable[HourlyEnergy], *, tariff: Tariff, timezone: str, roles: ChannelRoles | None = None
) -> list[DailyEnergy]:
    """Group hourly rows by (device, channel, local date) and price them; sorted by device, channel, date.
    `roles` (default: every channel is grid) says which channels' export is sold energy that export_value prices."""
    zone = ZoneInfo(timezone)
    days = []
    for (device_id, channel, day), rows in sorted(local_days(hourly, tariff=tariff, timezone=timezone).items()):
        zone_wh = zone_energy_wh(rows, tariff)
        measured = sum(row.import_wh for row, _ in rows)
        estimated = sum(row.estimated_wh for row, _ in rows)
        cost = day_cost(zone_wh, tariff, day)
        methods = sorted({row.method for row, _ in rows})
        export_kwh = round(sum(row.export_wh for row, _ in rows) / 1000, KWH_DECIMALS)
        days.append(
            DailyEnergy(
                device_id=device_id,
                channel=channel,
                date=day.isoformat(),
                timezone=timezone,
                energy_kwh=round((measured + estimated) / 1000, KWH_DECIMALS),
                measured_kwh=round(measured / 1000, KWH_DECIMALS),
                estimated_kwh=round(estimated / 1000, KWH_DECIMALS),
                export_kwh=export_kwh,
                zones={name: round(wh / 1000, KWH_DECIMALS) for name, wh in zone_wh.items()},
                cost=round(cost, COST_DECIMALS),
                currency=tariff.currency,
                gap_seconds=round(sum(row.gap_s for row, _ in rows), 3),
                coverage=round(sum(row.covered_s for row, _ in rows) / local_day_seconds(day, zone), KWH_DECIMALS),
                samples=sum(row.samples for row, _ in rows),
                method="+".join(methods),
                counter_resets=sum(row.counter_resets for row, _ in rows),
                export_value=grid_export_value(export_kwh, tariff, day, roles, (device_id, channel)),
            )
        )
    return days


def grid_export_value(
    export_kwh: float, tariff: Tariff, day: date, roles: ChannelRoles | None, channel: tuple[str, int]
) -> float | None:
    """A channel-day's export value: only a grid channel's export is energy sold (a solar channel's is generation)."""
    if (roles or {}).get(channel, ChannelRole.GRID) is not ChannelRole.GRID:
        return None
    return export_value(export_kwh, tariff, day)
