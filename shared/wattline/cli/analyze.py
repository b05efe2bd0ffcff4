"""`wattline analyze`: energy per device, channel and local day from MQTT captures or readings files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from wattline.settings import IntegrationMethod, Settings


def _default(name: str) -> str:
    """A setting's default as the help shows it, read from the settings model (one source per setting). In
    parentheses: Rich reads `[...]` in help texts as markup and drops it."""
    value = Settings.model_fields[name].default
    return f"(default: {getattr(value, 'value', value)}, or WATTLINE_{name.upper()})"


TZ_HELP = f"Site time zone for local days and tariff hours {_default('timezone')}."
TARIFF_HELP = (
    "ua-1zone, ua-2zone, ua-3zone (each also as -active: export priced for an active consumer), "
    f"or a tariff TOML file {_default('tariff')}."
)
CHANNELS_HELP = (
    "Channel roles, DEVICE_ID:CHANNEL=ROLE separated by commas; ROLE is grid, solar (generation is the export "
    "direction), solar+ (generation is the import direction) or load; unlisted channels are grid. Adds a solar "
    "section per site (default: none, or WATTLINE_CHANNELS)."
)
METHOD_HELP = (
    "auto (counters where they bracket an interval, else power), counter, trapezoid or locf "
    f"{_default('integration_method')}."
)
MAX_GAP_HELP = f"Seconds between samples beyond which an interval is a gap {_default('max_gap_seconds')}."


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(analyze)


def analyze(
    files: list[Path] = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="MQTT captures (JSON Lines: topic, payload, received_at) or canonical-reading JSON Lines; .gz is fine.",
    ),
    tz: str = typer.Option(None, "--tz", help=TZ_HELP),
    tariff: str = typer.Option(None, "--tariff", help=TARIFF_HELP),
    method: IntegrationMethod = typer.Option(
        None,
        "--method",
        help=METHOD_HELP,
    ),
    max_gap: float = typer.Option(
        None,
        "--max-gap",
        min=1,
        help=MAX_GAP_HELP,
    ),
    channels: str = typer.Option(None, "--channels", help=CHANNELS_HELP),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table, json or csv."),
) -> None:
    """Energy per device, channel and local date, by tariff zone, with cost.

    Reads MQTT captures (one message a line: {"topic": str, "payload": str exactly as published,
    "received_at": Unix seconds}) and canonical-reading JSON Lines (the daily files). Lines that cannot be used are
    counted and reported on stderr as file:line and why (the rule `wattline import` applies too); they never stop
    the run. A truncated .gz gives the lines before the break, with a warning. Options default to the WATTLINE_*
    settings.

    With channel roles (--channels or WATTLINE_CHANNELS), each site (device) named in them also gets a solar row per
    local day: generation, grid import, export, consumption, self-consumption, self-sufficiency and export value;
    --format json then prints an object: "days" (the rows above) and "solar" (those rows); see docs/solar.md.
    """
    from wattline.analysis import analyze_energy, read_columns
    from wattline.cli.output import print_daily, report_input_stats
    from wattline.errors import PermanentError
    from wattline.settings import Settings
    from wattline.tariffs import load_tariff

    try:
        overrides = {
            key: value
            for key, value in {
                "timezone": tz,
                "tariff": tariff,
                "integration_method": method,
                "max_gap_seconds": max_gap,
                "channels": channels,
            }.items()
            if value is not None
        }
        # Command-line values override the environment's; both are validated by the one settings model.
        settings = Settings.model_validate({**Settings().model_dump(), **overrides})
        chosen_tariff = load_tariff(settings.tariff)
    except (PermanentError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc

    columns, stats = read_columns(files)
    report_input_stats(stats)
    result = analyze_energy(
        columns,
        timezone=settings.timezone,
        tariff=chosen_tariff,
        method=settings.integration_method,
        max_gap_s=settings.max_gap_seconds,
        max_power_w=settings.max_power_w,
        roles=settings.channel_roles,
    )
    print_daily(result.days, output.value, result.solar)
