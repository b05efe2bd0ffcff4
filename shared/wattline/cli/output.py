"""Printing shared by the commands: daily energy (and the solar section) as a table, JSON or CSV; input statistics
on stderr."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import TYPE_CHECKING

from wattline.models import DailyEnergy

if TYPE_CHECKING:
    from rich.table import Table

    from wattline.analysis import InputStats
    from wattline.solar import SolarDay

DAILY_KEYS = [name for name in DailyEnergy.model_fields if name != "export_value"]


def print_daily(days: Sequence[DailyEnergy], output: str, solar: Sequence[SolarDay] | None = None) -> None:
    """`solar` is None when no channel roles are set: the output is then exactly what it was before roles existed.
    With roles, JSON becomes {"days": [...], "solar": [...]} and the table gets a solar table per site; CSV keeps
    the channel rows only (one table shape per CSV)."""
    if output == "json":
        daily = [day.model_dump() for day in days]
        document: object = daily if solar is None else {"days": daily, "solar": [d.model_dump() for d in solar]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif output == "csv":
        # export_value is a column only when some day has one: CSV without export pricing is unchanged.
        keys = DAILY_KEYS + (["export_value"] if any(day.export_value is not None for day in days) else [])
        writer = csv.writer(sys.stdout)
        writer.writerow(keys)
        for day in days:
            row = day.model_dump()
            row["zones"] = json.dumps(row["zones"], separators=(",", ":"))
            writer.writerow([row.get(key) for key in keys])
    else:
        # The tables' modules are imported here: JSON and CSV output (scripts, the benchmark) never build one.
        from rich.console import Console

        from wattline.report.tables import solar_tables

        console = Console()
        for table in _tables(days):
            console.print(table)
        if not days:
            console.print("no energy: no usable power or counter readings")
        for table in solar_tables(solar or []):
            console.print(table)


def _tables(days: Sequence[DailyEnergy]) -> list[Table]:
    """One table per device channel; zones get a column each; estimated, export, gaps and resets are shown only
    when some day has them."""
    from rich import box
    from rich.table import Table

    from wattline.report.tables import money

    zone_names = list(dict.fromkeys(zone for day in days for zone in day.zones))
    optional: dict[str, tuple[Callable[[DailyEnergy], float], Callable[[DailyEnergy], str]]] = {
        "est.": (lambda d: d.estimated_kwh, lambda d: f"{d.estimated_kwh:.3f}"),
        "exp.": (lambda d: d.export_kwh, lambda d: f"{d.export_kwh:.3f}"),
        "exp. value": (lambda d: d.export_value or 0.0, lambda d: money(d.export_value)),
        "gaps": (lambda d: d.gap_seconds, lambda d: _duration(d.gap_seconds)),
        "rst.": (lambda d: d.counter_resets, lambda d: str(d.counter_resets)),
    }
    shown = {name: fmt for name, (value, fmt) in optional.items() if any(value(day) for day in days)}
    tables = []
    for (device_id, channel), group in groupby(days, key=lambda day: (day.device_id, day.channel)):
        rows = list(group)
        methods = {day.method for day in rows}
        method_note = f", method {methods.pop()}" if len(methods) == 1 else ""
        table = Table(
            title=f"{device_id} channel {channel}: kWh per local day, cost in {rows[0].currency}{method_note}",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        table.add_column("date", no_wrap=True)
        for column in ("total", *zone_names, "cost", *shown, "cover"):
            table.add_column(column, justify="right", no_wrap=True)
        if not method_note:
            table.add_column("method", no_wrap=True)
        for day in rows:
            table.add_row(
                day.date,
                f"{day.energy_kwh:.3f}",
                *(f"{day.zones.get(zone, 0.0):.3f}" for zone in zone_names),
                f"{day.cost:.2f}",
                *(fmt(day) for fmt in shown.values()),
                f"{day.coverage:.1%}",
                *([] if method_note else [day.method]),
            )
        tables.append(table)
    return tables


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def report_input_stats(stats: InputStats) -> None:
    quarantined = sum(stats.quarantined.values())
    print_stderr(
        [
            f"read {stats.lines} lines: {stats.messages} MQTT messages, {stats.readings} readings, "
            f"{quarantined} messages rejected, {stats.invalid_lines} unusable lines",
            *(f"  rejected {count} × {reason}" for reason, count in sorted(stats.quarantined.items())),
            *invalid_lines(stats.invalid_lines, stats.invalid_examples, "unusable line"),
            *(f"  warning: {problem}" for problem in stats.file_errors),
        ]
    )


def invalid_lines(count: int, examples: Sequence[str], label: str) -> list[str]:
    """Each kept example (`file:line: why`), then how many more there were."""
    more = [f"  … and {count - len(examples)} more"] if count > len(examples) else []
    return [f"  {label} {example}" for example in examples] + more


def print_stderr(lines: Sequence[str]) -> None:
    """The lines on stderr: on a terminal through rich (numbers highlighted); elsewhere (a log, a pipe) as they are,
    a line each, not wrapped at 80 columns (and rich is not imported)."""
    if not sys.stderr.isatty():
        sys.stderr.write("".join(line + "\n" for line in lines))
        return
    from rich.console import Console

    err = Console(stderr=True)
    for line in lines:
        err.print(line, markup=False, soft_wrap=True)
