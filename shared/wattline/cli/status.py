"""`wattline status`: the ledger of the local home — where every MQTT message went, pending work, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION


def register(app: typer.Typer) -> None:
    app.command()(status)


def status(
    home: Path = HOME_OPTION,
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """The ledger: where every MQTT message went, pending work, dead letters.

    Counts are MQTT messages: received = kept + quarantined + duplicates
    (always), readings, quarantine counts by reason, device-days aggregated and
    loaded, pending events and device-days, and dead letters (re-drive them
    with `wattline retry`)."""
    from wattline.local.cli_support import existing_home
    from wattline.local.ledger import home_ledger
    from wattline.local.summary import print_ledger

    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    root = existing_home(home)
    from rich.console import Console

    with Console(stderr=True).status("reading the buckets and the queue"):
        ledger = home_ledger(root, datetime.now(UTC))
    if output == "json":
        typer.echo(json.dumps(ledger.as_dict(), indent=2))
    else:
        print_ledger(ledger)
