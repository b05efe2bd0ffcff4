"""Multi-zone electricity tariffs: zones by local hour and weekday, prices versioned by date.

Presets follow CMU resolution 483 as amended (docs/tariffs.md): a base price per kWh that changes on known dates,
and zone coefficients; the `-active` presets add a dated export (net-billing) price for active consumers with their
own generation (Law of Ukraine No. 3220-IX). Custom tariffs come from a TOML file. Zone edges are whole local
hours, which is what every Ukrainian scheme uses and what the energy engine's hourly split makes exact.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wattline.errors import PermanentError

ALL_WEEKDAYS = frozenset(range(1, 8))  # ISO: 1 = Monday … 7 = Sunday
ALL_HOURS = frozenset(range(24))


@dataclass(frozen=True)
class PricePeriod:
    """A price per kWh valid on local dates valid_from ≤ d < valid_to (valid_to None: open-ended)."""

    valid_from: date
    valid_to: date | None
    price: float

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Zone:
    name: str
    hours: frozenset[int]
    weekdays: frozenset[int]
    prices: tuple[PricePeriod, ...]


@dataclass(frozen=True)
class Tariff:
    """Zones with dated import prices, and optionally a dated price per exported kWh (feed-in or net billing)."""

    name: str
    currency: str
    zones: tuple[Zone, ...]
    export_prices: tuple[PricePeriod, ...] = ()

    def zone_at(self, local: datetime) -> str:
        """The zone of the local hour that starts at (or contains) `local`."""
        return self.zone_for(local.hour, local.isoweekday())

    def zone_for(self, hour: int, weekday: int) -> str:
        for zone in self.zones:
            if hour in zone.hours and weekday in zone.weekdays:
                return zone.name
        raise PermanentError(f"tariff {self.name!r} has no zone for weekday {weekday} hour {hour}")

    def price(self, zone_name: str, day: date) -> float:
        zone = next((z for z in self.zones if z.name == zone_name), None)
        if zone is None:
            raise PermanentError(f"tariff {self.name!r} has no zone {zone_name!r}")
        for period in zone.prices:
            if period.covers(day):
                return period.price
        raise PermanentError(f"tariff {self.name!r} has no price for zone {zone_name!r} on {day.isoformat()}")

    def export_price(self, day: date) -> float | None:
        """The price of one exported kWh on local date `day`; None when the tariff pays nothing for export then."""
        return next((period.price for period in self.export_prices if period.covers(day)), None)

    @property
    def zone_names(self) -> list[str]:
        return [zone.name for zone in self.zones]


# Base household price per kWh (UAH), by the date it took effect. Dated table: keep history, append changes.
UA_BASE_PRICES: tuple[tuple[date, float], ...] = (
    (date(2000, 1, 1), 1.68),
    (date(2023, 6, 1), 2.64),
    (date(2024, 6, 1), 4.32),
)


# Price per exported kWh for an active consumer (активний споживач) under self-generation (net billing), Law of
# Ukraine No. 3220-IX of 2023. The law values the excess at the market (day-ahead) price of the settlement period,
# which changes every hour. This single figure stands in for it: the Market Operator's day-ahead BASE price index
# of the IPS of Ukraine for 2022, 2 671.04 UAH/MWh net of VAT (the latest yearly figure we could source; verify),
# to be replaced with the supplier's settlement prices (docs/tariffs.md). Dated table: keep history, append changes.
UA_ACTIVE_CONSUMER_EXPORT_PRICES: tuple[tuple[date, float], ...] = ((date(2023, 6, 30), 2.67104),)


def _periods(table: tuple[tuple[date, float], ...], coefficient: float = 1.0) -> tuple[PricePeriod, ...]:
    """A dated (start, price) table as consecutive price periods, each price × coefficient."""
    periods = []
    for index, (start, price) in enumerate(table):
        end = table[index + 1][0] if index + 1 < len(table) else None
        periods.append(PricePeriod(start, end, round(price * coefficient, 6)))
    return tuple(periods)


def _hours(*ranges: tuple[int, int]) -> frozenset[int]:
    """Local hours in half-open ranges [start, end), wrapping past midnight when end ≤ start."""
    hours: set[int] = set()
    for start, end in ranges:
        hour = start
        while True:
            hours.add(hour)
            hour = (hour + 1) % 24
            if hour == end % 24:
                break
    return frozenset(hours)


def _ua(name: str, zones: Iterable[tuple[str, frozenset[int], float]]) -> Tariff:
    return Tariff(
        name=name,
        currency="UAH",
        zones=tuple(Zone(zone, hours, ALL_WEEKDAYS, _periods(UA_BASE_PRICES, k)) for zone, hours, k in zones),
    )


PRESETS: Mapping[str, Tariff] = {
    "ua-1zone": _ua("ua-1zone", [("all", ALL_HOURS, 1.0)]),
    "ua-2zone": _ua("ua-2zone", [("night", _hours((23, 7)), 0.5), ("day", _hours((7, 23)), 1.0)]),
    "ua-3zone": _ua(
        "ua-3zone",
        [
            ("night", _hours((23, 7)), 0.4),
            ("half_peak", _hours((7, 8), (11, 20), (22, 23)), 1.0),
            ("peak", _hours((8, 11), (20, 22)), 1.5),
        ],
    ),
}

# The same import tariffs for an active consumer: exported energy is priced too. Kept out of PRESETS, which are the
# import tariffs `wattline whatif` compares (their import costs are the same as the plain presets').
ACTIVE_CONSUMER_PRESETS: Mapping[str, Tariff] = {
    f"{name}-active": replace(tariff, name=f"{name}-active", export_prices=_periods(UA_ACTIVE_CONSUMER_EXPORT_PRICES))
    for name, tariff in PRESETS.items()
}
ALL_PRESETS: Mapping[str, Tariff] = {**PRESETS, **ACTIVE_CONSUMER_PRESETS}


def load_tariff(spec: str | Path) -> Tariff:
    """A preset name (ua-1zone, ua-2zone, ua-3zone, and each with `-active`) or the path of a tariff TOML file
    (docs/tariffs.md)."""
    if isinstance(spec, str) and spec in ALL_PRESETS:
        return ALL_PRESETS[spec]
    path = Path(spec)
    if not path.is_file():
        raise PermanentError(
            f"unknown tariff {str(spec)!r}: use one of {', '.join(ALL_PRESETS)} or a path to a TOML file"
        )
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PermanentError(f"tariff file {path} is not valid TOML: {exc}") from exc
    return tariff_from_mapping(data, default_name=path.stem)


def tariff_from_mapping(data: Mapping[str, Any], *, default_name: str = "custom") -> Tariff:
    """Build and validate a tariff from its TOML shape; every (weekday, hour) must fall in exactly one zone."""
    try:
        name = str(data.get("name", default_name))
        currency = str(data.get("currency", "UAH"))
        base = _price_periods(data.get("base_prices", []))
        export_prices = _price_periods(data.get("export_prices", []))
        zones = []
        for raw in data["zones"]:
            hours = frozenset(int(h) for h in raw["hours"]) if "hours" in raw else ALL_HOURS
            weekdays = frozenset(int(d) for d in raw.get("weekdays", sorted(ALL_WEEKDAYS)))
            if "prices" in raw:
                prices = _price_periods(raw["prices"])
            else:
                coefficient = float(raw.get("coefficient", 1.0))
                if not base:
                    raise PermanentError(f"zone {raw['name']!r} has a coefficient but the tariff has no base_prices")
                prices = tuple(PricePeriod(p.valid_from, p.valid_to, round(p.price * coefficient, 6)) for p in base)
            if not hours <= ALL_HOURS or not weekdays <= ALL_WEEKDAYS:
                raise PermanentError(f"zone {raw['name']!r}: hours are 0..23 and weekdays 1 (Mon)..7 (Sun)")
            zones.append(Zone(str(raw["name"]), hours, weekdays, prices))
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"tariff {default_name!r} is malformed ({exc!r}); see docs/tariffs.md") from exc
    tariff = Tariff(name, currency, tuple(zones), export_prices)
    _check_partition(tariff)
    return tariff


def _price_periods(raw: Iterable[Mapping[str, Any]]) -> tuple[PricePeriod, ...]:
    return tuple(
        PricePeriod(_as_date(p["valid_from"]), _as_date(p["valid_to"]) if "valid_to" in p else None, float(p["price"]))
        for p in raw
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _check_partition(tariff: Tariff) -> None:
    for weekday in ALL_WEEKDAYS:
        for hour in ALL_HOURS:
            owners = [z.name for z in tariff.zones if hour in z.hours and weekday in z.weekdays]
            if len(owners) != 1:
                raise PermanentError(
                    f"tariff {tariff.name!r}: weekday {weekday} hour {hour} is in {len(owners)} zones {owners}; "
                    "every local hour of the week must be in exactly one zone"
                )


def tariff_rows(tariff: Tariff) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for the warehouse tables tariff_zone_hours and tariff_prices (the same definitions, in SQL)."""
    zone_hours = [
        {"tariff": tariff.name, "zone": zone.name, "weekday": weekday, "local_hour": hour}
        for zone in tariff.zones
        for weekday in sorted(zone.weekdays)
        for hour in sorted(zone.hours)
    ]
    prices = [
        {"tariff": tariff.name, "zone": zone.name, **_period_row(period, tariff.currency)}
        for zone in tariff.zones
        for period in zone.prices
    ]
    return zone_hours, prices


def export_price_rows(tariff: Tariff) -> list[dict[str, Any]]:
    """Rows for the warehouse table tariff_export_prices: the tariff's dated price per exported kWh."""
    return [{"tariff": tariff.name, **_period_row(period, tariff.currency)} for period in tariff.export_prices]


def _period_row(period: PricePeriod, currency: str) -> dict[str, Any]:
    return {
        "valid_from": period.valid_from.isoformat(),
        "valid_to": period.valid_to.isoformat() if period.valid_to else None,
        "price": period.price,
        "currency": currency,
    }
