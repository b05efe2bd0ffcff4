"""Printing shared by the commands: daily energy as a table, JSON or CSV; input statistics on stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from wattline.models import DailyEnergy

if TYPE_CHECKING:
    from wattline.analysis import InputStats

DAILY_KEYS = list(DailyEnergy.model_fields)


def print_daily(days: Sequence[DailyEnergy], output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps([day.model_dump() for day in days], indent=2) + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(DAILY_KEYS)
        for day in days:
            row = day.model_dump()
            row["zones"] = json.dumps(row["zones"], separators=(",", ":"))
            writer.writerow([row[key] for key in DAILY_KEYS])
    else:
        Console().print(_table(days))


def _table(days: Sequence[DailyEnergy]) -> Table:
    table = Table(title="Energy per local day", show_lines=False)
    for column in (
        "device",
        "ch",
        "date",
        "kWh",
        "zones (kWh)",
        "cost",
        "est. kWh",
        "export kWh",
        "coverage",
        "gaps",
        "resets",
        "method",
    ):
        table.add_column(column, justify="left" if column in ("device", "date", "zones (kWh)", "method") else "right")
    for day in days:
        table.add_row(
            day.device_id,
            str(day.channel),
            day.date,
            f"{day.energy_kwh:.3f}",
            ", ".join(f"{zone} {kwh:.3f}" for zone, kwh in day.zones.items()),
            f"{day.cost:.2f} {day.currency}",
            f"{day.estimated_kwh:.3f}",
            f"{day.export_kwh:.3f}",
            f"{day.coverage:.1%}",
            _duration(day.gap_seconds),
            str(day.counter_resets),
            day.method,
        )
    if not days:
        table.caption = "no energy: no usable power or counter readings"
    return table


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def report_input_stats(stats: InputStats) -> None:
    err = Console(stderr=True)
    quarantined = sum(stats.quarantined.values())
    err.print(
        f"read {stats.lines} lines: {stats.messages} MQTT messages, {stats.readings} readings, "
        f"{quarantined} messages rejected, {stats.invalid_lines} unusable lines"
    )
    for reason, count in sorted(stats.quarantined.items()):
        err.print(f"  rejected {count} × {reason}")
    for example in stats.invalid_examples:
        err.print(f"  unusable line {example}")
