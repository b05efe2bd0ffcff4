"""Solar generation, export and self-consumption per site, from hourly per-channel energy and channel roles.

Pure domain code. A **site** is one device (one meter): its channels measure the grid connection, the PV inverter
and sub-circuits. Each channel has a **role** (the setting `channels`, docs/solar.md):

- `grid`: the clamp at the grid connection; import direction = energy bought, export direction = energy sold.
  Channels without a role are `grid`, exactly as every channel was before roles existed.
- `solar`: the clamp on the inverter's line, facing the grid as the Shelly is usually installed, so generation
  is measured in the **export direction** (negative power). `solar+` is the same with the clamp the other way
  round: generation is the import direction. The opposite direction (the inverter's standby draw at night) is
  not generation: the house took it from the grid, so it is already in the grid import and in consumption.
- `load`: a sub-circuit (a boiler, a heat pump). Its energy is part of what the grid clamp sees, so it does not
  enter the site's balance; it keeps its own per-channel rows.

Per site and local hour (then summed per local day), in Wh:
  generation = Σ solar channels' generation direction;  grid import = Σ grid channels' import (measured +
  estimated);  export = Σ grid channels' export;  self-consumption = max(0, generation − export);
  consumption = grid import + self-consumption (= grid import + generation − export whenever the export is
  covered by the measured generation; an hour exporting more than the solar clamps saw counts no generation as
  consumed rather than a negative consumption);  self-sufficiency = self-consumption / consumption (None when 0).
A day's numbers are the sums of its hours', so hours that export at noon do not offset the evening's import.
Export value = the day's export kWh (rounded as printed) × the tariff's export price on that local date, only when
the day exported and the tariff has an export price then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from wattline.models import HourlyEnergy
from wattline.tariffs import Tariff

KWH_DECIMALS = 6
RATIO_DECIMALS = 6
VALUE_DECIMALS = 4

CHANNELS_FORM = "DEVICE_ID:CHANNEL=ROLE, e.g. shellyproem50-08f9e0e67204:1=solar"


class ChannelRole(StrEnum):
    GRID = "grid"
    SOLAR = "solar"  # generation in the export direction (negative power): a clamp facing the grid
    SOLAR_POSITIVE = "solar+"  # generation in the import direction (positive power): the clamp turned round
    LOAD = "load"


ChannelKey = tuple[str, int]
ChannelRoles = Mapping[ChannelKey, ChannelRole]


def parse_channel_roles(value: str | Mapping[str, Any] | None) -> dict[ChannelKey, ChannelRole]:
    """Roles from the setting's two forms: `"dev:0=grid,dev:1=solar"` (WATTLINE_CHANNELS) or a mapping
    `{"dev:1": "solar"}` (a `[channels]` table in wattline.toml). A bad entry raises ValueError naming it."""
    if value is None:
        return {}
    if isinstance(value, str):
        pairs: list[tuple[str, Any]] = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            key, sep, role = item.partition("=")
            if not sep:
                raise ValueError(f"channel role {item!r} has no '=': use {CHANNELS_FORM}")
            pairs.append((key.strip(), role.strip()))
    else:
        pairs = list(value.items())
    roles: dict[ChannelKey, ChannelRole] = {}
    for key, role in pairs:
        channel_key = _channel_key(str(key))
        if channel_key in roles:
            raise ValueError(f"channel {key!r} is given twice")
        try:
            roles[channel_key] = ChannelRole(str(role).strip().lower())
        except ValueError:
            choices = ", ".join(r.value for r in ChannelRole)
            raise ValueError(f"channel {key!r} has the unknown role {role!r}: use one of {choices}") from None
    return roles


def _channel_key(text: str) -> ChannelKey:
    device, sep, channel = text.strip().rpartition(":")
    if not sep or not device or not channel.strip().isdigit():
        raise ValueError(f"channel {text!r} is not DEVICE_ID:CHANNEL (channel a number from 0): use {CHANNELS_FORM}")
    return device, int(channel)


def channel_key_text(key: ChannelKey) -> str:
    """The setting's spelling of a channel: `device:channel`."""
    return f"{key[0]}:{key[1]}"


def sites(roles: ChannelRoles) -> list[str]:
    """The devices that have a solar section: every device named in the roles."""
    return sorted({device for device, _ in roles})


@dataclass(frozen=True)
class SolarHour:
    """One site's balance in one hour (Wh, unrounded)."""

    device_id: str
    hour_start: datetime
    generation_wh: float
    grid_import_wh: float
    export_wh: float

    @property
    def self_consumption_wh(self) -> float:
        return max(0.0, self.generation_wh - self.export_wh)

    @property
    def consumption_wh(self) -> float:
        return self.grid_import_wh + self.self_consumption_wh

    @property
    def self_sufficiency(self) -> float | None:
        return self_sufficiency(self.self_consumption_wh, self.consumption_wh)


def self_sufficiency(self_consumption_wh: float, consumption_wh: float) -> float | None:
    # Never above 1, even in floats: consumption is grid import (≥ 0) plus self-consumption, and rounding is monotone.
    return None if consumption_wh <= 0 else self_consumption_wh / consumption_wh


@dataclass
class _Flows:
    """Running sums of one site-hour (or site-day) while the channel rows are read."""

    generation_wh: float = 0.0
    grid_import_wh: float = 0.0
    export_wh: float = 0.0
    self_consumption_wh: float = 0.0  # summed per hour for a day: noon's export never offsets the evening
    consumption_wh: float = 0.0


def solar_hours(hourly: Iterable[HourlyEnergy], roles: ChannelRoles) -> list[SolarHour]:
    """Per site (device named in `roles`) and hour, the balance of its channels; sorted by device and hour."""
    named = set(sites(roles))
    flows: dict[tuple[str, datetime], _Flows] = defaultdict(_Flows)
    for row in hourly:
        if row.device_id not in named:
            continue
        role = roles.get((row.device_id, row.channel), ChannelRole.GRID)
        hour = flows[(row.device_id, row.hour_start)]  # a load channel still makes its hour exist
        if role is ChannelRole.GRID:
            hour.grid_import_wh += row.import_wh + row.estimated_wh
            hour.export_wh += row.export_wh
        elif role is ChannelRole.SOLAR:
            hour.generation_wh += row.export_wh
        elif role is ChannelRole.SOLAR_POSITIVE:
            hour.generation_wh += row.import_wh + row.estimated_wh
    return [
        SolarHour(device_id, hour_start, hour.generation_wh, hour.grid_import_wh, hour.export_wh)
        for (device_id, hour_start), hour in sorted(flows.items(), key=lambda item: item[0])
    ]


class SolarDay(BaseModel):
    """One site's local day: what `wattline analyze` and `wattline energy` print in their solar section, and the
    rows of the warehouse view `solar_daily`. kWh rounded to 6 decimals, ratio to 6, export value to 4."""

    device_id: str
    date: str
    timezone: str
    generation_kwh: float
    grid_import_kwh: float
    export_kwh: float
    consumption_kwh: float
    self_consumption_kwh: float
    self_sufficiency: float | None
    export_value: float | None
    currency: str


def export_value(export_kwh: float, tariff: Tariff, day: date) -> float | None:
    """What the day's export earned: None when nothing was exported or the tariff pays nothing for export then."""
    price = tariff.export_price(day)
    if price is None or export_kwh <= 0:
        return None
    return round(export_kwh * price, VALUE_DECIMALS)


def solar_days(hourly: Iterable[HourlyEnergy], roles: ChannelRoles, *, tariff: Tariff, timezone: str) -> list[SolarDay]:
    """Per site and local date (of each hour's start in `timezone`), the sums of its hours; sorted by site, date."""
    zone = ZoneInfo(timezone)
    days: dict[tuple[str, date], _Flows] = defaultdict(_Flows)
    for hour in solar_hours(hourly, roles):
        day = days[(hour.device_id, hour.hour_start.astimezone(zone).date())]
        day.generation_wh += hour.generation_wh
        day.grid_import_wh += hour.grid_import_wh
        day.export_wh += hour.export_wh
        day.self_consumption_wh += hour.self_consumption_wh
        day.consumption_wh += hour.consumption_wh
    result = []
    for (device_id, local_date), day in sorted(days.items(), key=lambda item: item[0]):
        export_kwh = round(day.export_wh / 1000, KWH_DECIMALS)
        sufficiency = self_sufficiency(day.self_consumption_wh, day.consumption_wh)
        result.append(
            SolarDay(
                device_id=device_id,
                date=local_date.isoformat(),
                timezone=timezone,
                generation_kwh=round(day.generation_wh / 1000, KWH_DECIMALS),
                grid_import_kwh=round(day.grid_import_wh / 1000, KWH_DECIMALS),
                export_kwh=export_kwh,
                consumption_kwh=round(day.consumption_wh / 1000, KWH_DECIMALS),
                self_consumption_kwh=round(day.self_consumption_wh / 1000, KWH_DECIMALS),
                self_sufficiency=None if sufficiency is None else round(sufficiency, RATIO_DECIMALS),
                export_value=export_value(export_kwh, tariff, local_date),
                currency=tariff.currency,
            )
        )
    return result


def channel_role_rows(roles: ChannelRoles) -> list[dict[str, Any]]:
    """Rows for the warehouse table channel_roles (the same roles, in SQL)."""
    return [
        {"device_id": device_id, "channel": channel, "role": role.value}
        for (device_id, channel), role in sorted(roles.items())
    ]
