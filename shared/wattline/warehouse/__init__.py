"""The analytical warehouse: BigQuery in the cloud, DuckDB embedded, one set of SQL files for both.

Public API (stable; other stages code against it):
- wattline.warehouse.duckdb.DuckDBWarehouse(path, *, dataset, timezone, tariff, fs_root, bucket)
- wattline.warehouse.bigquery.BigQueryWarehouse(project=, dataset=, location=, endpoint=, timezone=, tariff=,
  bucket=) — both implement wattline.ports.Warehouse (ensure_schema, query, merge_rows) plus
  `replace_rows(table, rows, where)`.
- open_warehouse(settings) -> the adapter WarehouseSettings select (SDKs are imported only then).
- load_tariffs(warehouse, tariffs): the tariff tables hold exactly these tariffs' definitions afterwards.
- load_channel_roles(warehouse, roles): the channel_roles table holds exactly these roles afterwards.
- init_warehouse(warehouse, settings): ensure_schema + load the preset tariffs, the site tariff and the roles.
- fetch_daily_energy(warehouse, start, end, *, tariff, device_id=None) -> list[DailyEnergy], the rows of
  the `daily_energy` view (or of `daily_energy_all_tariffs` for another tariff), as `wattline analyze` gives them.
- fetch_solar_days(warehouse, start, end, *, tariff, roles, timezone, device_id=None) -> list[SolarDay], the solar
  rows of the warehouse's hourly energy (`wattline.solar.solar_days`, as `wattline analyze` computes them; what
  `wattline energy` prints as its solar section; one row per site and local date).
- fetch_hourly_energy(warehouse, start, end, *, timezone) -> list[HourlyEnergy], the energy_hourly rows of local
  dates start..end (what `wattline whatif` prices).

SQL lives in `wattline/sql/` (see wattline.warehouse.schema for layout, directives and `{{placeholders}}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from wattline.errors import PermanentError
from wattline.models import DailyEnergy, HourlyEnergy
from wattline.ports import ColumnarWarehouse, Warehouse

if TYPE_CHECKING:
    from wattline.solar import ChannelRoles, SolarDay
    from wattline.tariffs import Tariff
    from wattline.warehouse.settings import WarehouseSettings

ENERGY_TABLE = "energy_hourly"
ENERGY_KEY = ("device_id", "channel", "hour_start")
DAILY_FIELDS = tuple(name for name in DailyEnergy.model_fields if name != "export_value")  # the view's columns


@runtime_checkable
class AdminWarehouse(ColumnarWarehouse, Protocol):
    """A Warehouse that can also replace a slice of a table (used for the tariff tables) and answer in columns."""

    def replace_rows(self, table: str, rows: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> int:
        """Delete the rows matching `where` (column = value, ANDed) and insert `rows`, atomically."""
        ...


def open_warehouse(settings: WarehouseSettings) -> AdminWarehouse:
    """The warehouse the settings select. BigQuery needs WATTLINE_GCP_PROJECT; nothing is contacted yet."""
    if settings.warehouse == "bigquery":
        if not settings.gcp_project:
            raise PermanentError("WATTLINE_WAREHOUSE=bigquery needs WATTLINE_GCP_PROJECT (the dataset's project)")
        from wattline.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse(
            project=settings.gcp_project,
            dataset=settings.bq_dataset,
            location=settings.bq_location,
            endpoint=settings.bq_endpoint,
            timezone=settings.timezone,
            tariff=_tariff_name(settings.tariff),
            bucket=settings.bucket,
        )
    from wattline.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(
        settings.duckdb_file,
        dataset=settings.bq_dataset,
        timezone=settings.timezone,
        tariff=_tariff_name(settings.tariff),
        fs_root=settings.fs_root,
        bucket=settings.bucket,
        extra_tariffs=[_load(settings.tariff)],
        read_only=settings.duckdb_read_only,
    )


def _load(spec: str) -> Tariff:
    from wattline.tariffs import load_tariff

    return load_tariff(spec)


def _tariff_name(spec: str) -> str:
    return _load(spec).name


def load_tariffs(warehouse: AdminWarehouse, tariffs: Iterable[Tariff]) -> int:
    """Write each tariff's zone hours and prices, replacing what the tables held for that tariff name."""
    from wattline.tariffs import export_price_rows, tariff_rows

    written = 0
    for tariff in tariffs:
        zone_hours, prices = tariff_rows(tariff)
        written += warehouse.replace_rows("tariff_zone_hours", zone_hours, {"tariff": tariff.name})
        written += warehouse.replace_rows("tariff_prices", prices, {"tariff": tariff.name})
        written += warehouse.replace_rows("tariff_export_prices", export_price_rows(tariff), {"tariff": tariff.name})
    return written


def load_channel_roles(warehouse: AdminWarehouse, roles: ChannelRoles) -> int:
    """Replace the whole channel_roles table with `roles` (the setting is the one source; no roles: empty)."""
    from wattline.solar import channel_role_rows

    return warehouse.replace_rows("channel_roles", channel_role_rows(roles), {})


def init_warehouse(warehouse: AdminWarehouse, settings: WarehouseSettings) -> list[str]:
    """Create every object and load the preset tariffs plus the site tariff, and the channel roles. Idempotent;
    returns tariff names."""
    from wattline.tariffs import PRESETS

    warehouse.ensure_schema()
    tariffs = {t.name: t for t in [*PRESETS.values(), _load(settings.tariff)]}
    load_tariffs(warehouse, tariffs.values())
    load_channel_roles(warehouse, settings.channel_roles)
    return list(tariffs)


def fetch_daily_energy(
    warehouse: Warehouse,
    start: date,
    end: date,
    *,
    tariff: Tariff,
    site_tariff: str | None = None,
    device_id: str | None = None,
    roles: ChannelRoles | None = None,
) -> list[DailyEnergy]:
    """Daily rows for local dates start..end (inclusive), sorted by device, channel, date.

    Reads the `daily_energy` view when `tariff` is the site tariff the views were created with, else
    `daily_energy_all_tariffs` filtered on the tariff's name (its rows must be loaded: see load_tariffs).
    Zones come back in the tariff's zone order, exactly as wattline.daily.daily_energy lists them; `roles` (default:
    every channel is grid) decide which channels' export gets an export_value, as there.
    """
    from wattline.warehouse.schema import query_text

    view = "daily_energy" if site_tariff is None or tariff.name == site_tariff else "daily_energy_all_tariffs"
    params: dict[str, Any] = {"start_date": start, "end_date": end, "device_id": device_id}
    if view == "daily_energy_all_tariffs":
        params["tariff"] = tariff.name
    rows = warehouse.query(query_text(view), params)
    return [daily_from_row(row, tariff, roles) for row in rows]


def fetch_solar_days(
    warehouse: Warehouse,
    start: date,
    end: date,
    *,
    tariff: Tariff,
    roles: ChannelRoles,
    timezone: str,
    device_id: str | None = None,
) -> list[SolarDay]:
    """Solar rows of local dates start..end (inclusive), sorted by site and date, as `wattline energy` and the demo's
    summary print them: `wattline.solar.solar_days` of the warehouse's hourly rows, the computation `wattline analyze`
    makes of a capture's hours, so both print the same to the last digit. (The `solar_daily` view, for BigQuery and
    Looker Studio, holds the same sums, added in whatever order the engine groups the hours: the last digit of a
    rounded sum can differ.)"""
    from wattline.solar import solar_days

    hourly = fetch_hourly_energy(warehouse, start, end, timezone=timezone)
    if device_id is not None:
        hourly = [hour for hour in hourly if hour.device_id == device_id]
    return solar_days(hourly, roles, tariff=tariff, timezone=timezone)


def fetch_hourly_energy(warehouse: Warehouse, start: date, end: date, *, timezone: str) -> list[HourlyEnergy]:
    """`energy_hourly` rows of local dates start..end (inclusive) in `timezone`, sorted by device, channel, hour."""
    from zoneinfo import ZoneInfo

    from wattline.warehouse.schema import query_text

    zone = ZoneInfo(timezone)
    low = datetime.combine(start, time(), tzinfo=zone).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    rows = warehouse.query(query_text("energy_hourly_range"), {"start_ts": low, "end_ts": high})
    return [HourlyEnergy.model_validate({name: row[name] for name in HourlyEnergy.model_fields}) for row in rows]


def daily_from_row(row: Mapping[str, Any], tariff: Tariff, roles: ChannelRoles | None = None) -> DailyEnergy:
    """A daily_energy row (zones as an array of {zone, kwh} or a mapping) as the DailyEnergy model, with the
    export_value wattline.daily gives it."""
    from wattline.daily import grid_export_value

    zones_value = row["zones"]
    pairs: dict[str, float] = (
        {str(k): float(v) for k, v in zones_value.items()}
        if isinstance(zones_value, Mapping)
        else {str(item["zone"]): float(item["kwh"]) for item in zones_value or []}
    )
    ordered = {name: pairs.get(name, 0.0) for name in tariff.zone_names}
    ordered.update({k: v for k, v in pairs.items() if k not in ordered})
    if row["cost"] is None:
        raise PermanentError(
            f"tariff {tariff.name!r} has no price for {row['date']} in the warehouse: "
            "re-run `wattline gcp init` (or load_tariffs) after updating the tariff"
        )
    day = row["date"]
    local_date = day if isinstance(day, date) else date.fromisoformat(str(day))
    values = {name: row[name] for name in DAILY_FIELDS if name not in ("zones", "date")}
    value = grid_export_value(values["export_kwh"], tariff, local_date, roles, (values["device_id"], values["channel"]))
    return DailyEnergy(**values, zones=ordered, date=local_date.isoformat(), export_value=value)
