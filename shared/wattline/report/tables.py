"""Terminal tables shared by the CLI and the local runtime's summary (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

if TYPE_CHECKING:
    from wattline.solar import SolarDay


def money(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"  # "-": not valued (no export, no price, or not a grid channel)


def solar_tables(solar: Sequence[SolarDay]) -> list[Table]:
    """One table per site: kWh per local day, self-sufficiency as a percentage, the export value when priced."""
    tables = []
    for device_id, group in groupby(solar, key=lambda day: day.device_id):
        rows = list(group)
        valued = any(day.export_value is not None for day in rows)
        table = Table(
            title=f"{device_id} solar: kWh per local day" + (f", export value in {rows[0].currency}" if valued else ""),
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        table.add_column("date", no_wrap=True)
        columns = ("generated", "grid in", "exported", "consumed", "self-used", "self-suff.", *(["value"] * valued))
        for column in columns:
            table.add_column(column, justify="right", no_wrap=True)
        for day in rows:
            sufficiency = "-" if day.self_sufficiency is None else f"{day.self_sufficiency:.1%}"
            value = [money(day.export_value)] if valued else []
            table.add_row(
                day.date,
                *(
                    f"{kwh:.3f}"
                    for kwh in (
                        day.generation_kwh,
                        day.grid_import_kwh,
                        day.export_kwh,
                        day.consumption_kwh,
                        day.self_consumption_kwh,
                    )
                ),
                sufficiency,
                *value,
            )
        tables.append(table)
    return tables
